// Package orchestrator owns the life of a job: intake validation and
// submission, the job record in KV (reel-jobs), progress events, cancel,
// deadlines and dead letters.
package orchestrator

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reel-video/reel/bus/protocol"
)

// Job is the record stored under the job id in KV reel-jobs (JSON).
type Job struct {
	ID       string            `json:"id"`
	Prompt   string            `json:"prompt"`
	Negative string            `json:"negative,omitempty"`
	Settings protocol.Settings `json:"settings"`
	State    protocol.State    `json:"state"`
	Error    string            `json:"error,omitempty"`
	// FailedStage is the stage that failed the job.
	FailedStage string              `json:"failed_stage,omitempty"`
	Stages      map[string]*Stage   `json:"stages"`
	Video       *protocol.VideoInfo `json:"video,omitempty"`
	Created     time.Time           `json:"created"`
	Updated     time.Time           `json:"updated"`
	Finished    *time.Time          `json:"finished,omitempty"`
	Deadline    *time.Time          `json:"deadline,omitempty"`
	// Parent is set on a replay: the job whose persisted stage input was reused.
	Parent     string `json:"parent,omitempty"`
	ReplayFrom string `json:"replay_from,omitempty"`
	// ExtendOf and RemixOf (with Parent) are set on an extension or a remix
	// of that job (Store.Extend, Store.Remix; settings.source says how).
	ExtendOf string `json:"extend_of,omitempty"`
	RemixOf  string `json:"remix_of,omitempty"`
	// Seq is the REEL_EVENTS stream sequence of the last event folded into
	// the record (the projector skips events up to it when one is
	// redelivered).
	Seq uint64 `json:"seq,omitempty"`
}

// Stage is one stage's part of the record.
type Stage struct {
	State    protocol.State `json:"state"`
	Started  *time.Time     `json:"started,omitempty"`
	Finished *time.Time     `json:"finished,omitempty"`
	Step     int            `json:"step,omitempty"`
	Steps    int            `json:"steps,omitempty"`
	// Window of Windows is the window Step of Steps is in (a job denoised
	// in windows).
	Window  int      `json:"window,omitempty"`
	Windows int      `json:"windows,omitempty"`
	Chunks  []int    `json:"chunks,omitempty"` // chunk indices done
	Count   int      `json:"count,omitempty"`
	Retries int      `json:"retries,omitempty"`
	Workers []string `json:"workers,omitempty"`
	Error   string   `json:"error,omitempty"`
	// ReusedFrom is set on a replay's stages upstream of the replayed one:
	// their output was taken from this job, they did not run.
	ReusedFrom string `json:"reused_from,omitempty"`
}

// Seconds is the stage's wall time so far.
func (s *Stage) Seconds(now time.Time) float64 {
	if s.Started == nil {
		return 0
	}
	end := now
	if s.Finished != nil {
		end = *s.Finished
	}
	return end.Sub(*s.Started).Seconds()
}

// newJob is the record of a job before any event: created by its first
// event, whichever it is (the submitted event may come after the first
// stage's, from the projector's other consumer).
func newJob(id string, now time.Time) *Job {
	j := &Job{ID: id, State: protocol.StateQueued, Created: now, Updated: now, Stages: map[string]*Stage{}}
	for _, s := range protocol.Stages() {
		j.Stages[s] = &Stage{State: protocol.StateQueued}
	}
	return j
}

func (j *Job) stage(name string) *Stage {
	if j.Stages == nil {
		j.Stages = map[string]*Stage{}
	}
	s := j.Stages[name]
	if s == nil {
		s = &Stage{State: protocol.StateQueued}
		j.Stages[name] = s
	}
	return s
}

// Fold is the job record that the events evs of job id (in stream order)
// project to: what the projector writes to KV, computed anywhere.
func Fold(id string, evs []protocol.Event) *Job {
	var j *Job
	for _, ev := range evs {
		if j == nil {
			j = newJob(id, ev.Time)
		}
		j.apply(ev)
	}
	return j
}

// apply folds an event into the record; it reports whether anything changed.
// The submitted event fills in the request whenever it comes; otherwise a
// terminal job takes nothing more: the first ending event in stream order
// decides its state.
func (j *Job) apply(ev protocol.Event) bool {
	if ev.Kind == protocol.EventSubmitted {
		return j.submitted(ev)
	}
	if j.State.Terminal() {
		return false
	}
	now := ev.Time
	st := func() *Stage { return j.stage(ev.Stage) }
	addWorker := func(s *Stage) {
		if ev.Worker != "" && !slices.Contains(s.Workers, ev.Worker) {
			s.Workers = append(s.Workers, ev.Worker)
		}
	}
	switch ev.Kind {
	case protocol.EventStarted:
		j.State = protocol.StateRunning
		s := st()
		if s.State.Terminal() {
			return false
		}
		if s.Started == nil {
			s.Started = &now
		}
		s.State = protocol.StateRunning
		addWorker(s)
	case protocol.EventStep:
		s := st()
		s.State, s.Step, s.Steps = protocol.StateRunning, ev.Step, ev.Total
		s.Window, s.Windows = ev.Window, ev.Windows
		j.State = protocol.StateRunning
	case protocol.EventChunk:
		s := st()
		if s.Started == nil {
			s.Started = &now
		}
		addWorker(s)
		s.Count = ev.Count
		if !slices.Contains(s.Chunks, ev.Chunk) {
			s.Chunks = append(s.Chunks, ev.Chunk)
			slices.Sort(s.Chunks)
		}
		if ev.Count > 0 && len(s.Chunks) >= ev.Count {
			s.State, s.Finished = protocol.StateSucceeded, &now
		} else {
			s.State = protocol.StateRunning
		}
		j.State = protocol.StateRunning
	case protocol.EventRetry:
		s := st()
		s.Retries++
		s.Error = ev.Error
	case protocol.EventDone:
		s := st()
		if s.Started == nil {
			s.Started = &now
		}
		s.State, s.Finished, s.Error = protocol.StateSucceeded, &now, ""
	case protocol.EventSucceeded:
		j.State, j.Video, j.Finished = protocol.StateSucceeded, ev.Video, &now
		s := j.stage(protocol.StageEncode)
		if s.Started == nil {
			s.Started = &now
		}
		s.State, s.Finished = protocol.StateSucceeded, &now
	case protocol.EventFailed:
		j.State, j.Error, j.FailedStage, j.Finished = protocol.StateFailed, ev.Error, ev.Stage, &now
		if ev.Stage != "" {
			s := st()
			s.State, s.Error, s.Finished = protocol.StateFailed, ev.Error, &now
		}
		j.closeStages(protocol.StateCancelled, now)
	case protocol.EventCancelled:
		j.State, j.Finished = protocol.StateCancelled, &now
		if ev.Error != "" {
			j.Error = ev.Error
		}
		j.closeStages(protocol.StateCancelled, now)
	default:
		return false
	}
	j.Updated = now
	return true
}

// submitted takes the request from the (first) submitted event.
func (j *Job) submitted(ev protocol.Event) bool {
	if ev.Settings == nil || j.Settings.Frames != 0 {
		return false
	}
	j.Prompt, j.Negative, j.Settings = ev.Prompt, ev.Negative, *ev.Settings
	j.Created, j.Deadline = ev.Time, ev.Deadline
	j.Parent, j.ReplayFrom = ev.Parent, ev.ReplayFrom
	j.ExtendOf, j.RemixOf = ev.ExtendOf, ev.RemixOf
	if src := ev.Settings.Source; src != nil && src.Kind == protocol.SourceExtend {
		// The parent's chunks are the extension's first frames, copied:
		// vaedecode decodes only the new ones.
		s := j.stage(protocol.StageVAEDecode)
		for i := range src.Chunks {
			if !slices.Contains(s.Chunks, i) {
				s.Chunks = append(s.Chunks, i)
			}
		}
		slices.Sort(s.Chunks)
		s.Count = ev.Settings.Chunks()
	}
	if ev.ReplayFrom != "" {
		for _, st := range protocol.Stages() {
			if st == ev.ReplayFrom {
				break
			}
			*j.stage(st) = Stage{State: protocol.StateSucceeded, ReusedFrom: ev.Parent}
		}
	}
	if ev.Time.After(j.Updated) {
		j.Updated = ev.Time
	}
	return true
}

// closeStages marks unfinished stages when the job ends.
func (j *Job) closeStages(st protocol.State, now time.Time) {
	for _, s := range j.Stages {
		if !s.State.Terminal() {
			s.State = st
			if s.Started != nil {
				s.Finished = &now
			}
		}
	}
}

// Summary is a one-line description of a job's state.
func (j *Job) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", j.ID, j.State)
	if j.Error != "" {
		fmt.Fprintf(&b, " (%s)", j.Error)
	}
	return b.String()
}
