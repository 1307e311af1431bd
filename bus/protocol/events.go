package protocol

import "time"

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
	EventStep      = "step"    // denoise step Step/Total
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
}
