package protocol

import (
	"fmt"
	"time"
)

// State is the state of a job or of one stage of a job.
type State string

// Job and stage states.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
)

// Terminal reports whether nothing more happens to a job in this state.
func (s State) Terminal() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// Event kinds.
const (
	EventSubmitted = "submitted"
	EventStarted   = "started" // a stage began a message
	EventStep      = "step"    // denoise step Step/Total (of window Window/Windows)
	EventChunk     = "chunk"   // a chunk finished (Chunk of Count)
	EventDone      = "done"    // a stage finished its work for the job
	EventFailed    = "failed"  // the job failed (Error)
	EventCancelled = "cancelled"
	EventSucceeded = "succeeded" // the video is stored
	EventRetry     = "retry"     // a stage will retry (Error)
)

// Event is one progress/state event on reel.events.<job> (JSON).
type Event struct {
	Job    string     `json:"job"`
	Stage  string     `json:"stage,omitempty"`
	Kind   string     `json:"kind"`
	Step   int        `json:"step,omitempty"`
	Total  int        `json:"total,omitempty"`
	Chunk  int        `json:"chunk,omitempty"`
	Count  int        `json:"count,omitempty"`
	Worker string     `json:"worker,omitempty"`
	Error  string     `json:"error,omitempty"`
	Video  *VideoInfo `json:"video,omitempty"`
	Time   time.Time  `json:"time"`
	// Window and Windows (step events of a job denoised in windows): step
	// Step/Total is of window Window of Windows, counted from 1.
	Window  int `json:"window,omitempty"`
	Windows int `json:"windows,omitempty"`

	// Set on submitted events only: the job's request as intake read it
	// (settings with defaults filled in), its deadline, and for a replay
	// the parent job and the stage replayed from.
	Prompt     string     `json:"prompt,omitempty"`
	Negative   string     `json:"negative,omitempty"`
	Settings   *Settings  `json:"settings,omitempty"`
	Deadline   *time.Time `json:"deadline,omitempty"`
	Parent     string     `json:"parent,omitempty"`
	ReplayFrom string     `json:"replay_from,omitempty"`
	// ExtendOf and RemixOf (with Parent) mark an extension or a remix of
	// that job.
	ExtendOf string `json:"extend_of,omitempty"`
	RemixOf  string `json:"remix_of,omitempty"`
}

// Ended reports whether the event ends its job: the first one in stream
// order decides the job's state; followers stop there.
func (e Event) Ended() bool {
	return e.Kind == EventSucceeded || e.Kind == EventFailed || e.Kind == EventCancelled
}

// EndState is the state an ending event puts its job in ("" otherwise).
func (e Event) EndState() State {
	switch e.Kind {
	case EventSucceeded:
		return StateSucceeded
	case EventFailed:
		return StateFailed
	case EventCancelled:
		return StateCancelled
	}
	return ""
}

// MsgID is the Nats-Msg-Id an event is appended with. An event that states
// a fact which happens once per job (the video is stored; a stage finished
// chunk N; a stage is done) has an id made of the job, stage, kind and
// chunk only, so that JetStream's duplicate window drops the copy a second
// worker appends after running a redelivered message concurrently (seen in
// a three-node cluster: an election redelivered encode's message while the
// first handler still ran, and the job got two succeeded events). Every
// other event is unique by its time, which still dedups a publisher's own
// retry after a lost ack.
func (e Event) MsgID() string {
	switch e.Kind {
	case EventSucceeded, EventChunk, EventDone:
		return fmt.Sprintf("%s.%s.%s.%d", e.Job, e.Stage, e.Kind, e.Chunk)
	}
	return fmt.Sprintf("%s.%s.%s.%d.%d", e.Job, e.Stage, e.Kind, e.Chunk, e.Time.UnixNano())
}
