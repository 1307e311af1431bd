package api

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// Video is OpenAI's video object (openai-node src/resources/videos.ts,
// interface Video), plus reel's own details under "reel".
type Video struct {
	ID                 string      `json:"id"`
	Object             string      `json:"object"` // always "video"
	CreatedAt          int64       `json:"created_at"`
	CompletedAt        *int64      `json:"completed_at"`
	ExpiresAt          *int64      `json:"expires_at"`
	Error              *VideoError `json:"error"`
	Model              string      `json:"model"`
	Progress           int         `json:"progress"`
	Prompt             *string     `json:"prompt"`
	RemixedFromVideoID *string     `json:"remixed_from_video_id"`
	Seconds            string      `json:"seconds"`
	Size               string      `json:"size"`
	Status             string      `json:"status"`
	Reel               Details     `json:"reel"`
}

// VideoError is OpenAI's VideoCreateError.
type VideoError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Details is what reel adds to the video object: the job's own state, its
// settings and each stage's progress (the web UI shows them).
type Details struct {
	State          protocol.State          `json:"state"`
	NegativePrompt string                  `json:"negative_prompt,omitempty"`
	Settings       protocol.Settings       `json:"settings"`
	Stages         map[string]StageDetails `json:"stages"`
	Encoder        string                  `json:"encoder,omitempty"`
	Frames         int                     `json:"frames"`
	// ParentVideoID is the video this one was made from, and Derivation
	// how: DerivedRemix, DerivedExtension or DerivedReplay (from stage
	// ReplayFrom). Only a remix also sets remixed_from_video_id, as
	// OpenAI's object has no field for the others.
	ParentVideoID string `json:"parent_video_id,omitempty"`
	Derivation    string `json:"derivation,omitempty"`
	ReplayFrom    string `json:"replay_from,omitempty"`
}

// Derivations of a video made from another.
const (
	DerivedRemix     = "remix"
	DerivedExtension = "extension"
	DerivedReplay    = "replay"
)

// StageDetails is one stage's progress.
type StageDetails struct {
	State  protocol.State `json:"state"`
	Step   int            `json:"step,omitempty"`
	Steps  int            `json:"steps,omitempty"`
	Chunks int            `json:"chunks,omitempty"` // done
	Count  int            `json:"count,omitempty"`
}

// OpenAI's video statuses.
const (
	StatusQueued     = "queued"
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// status maps a job state to OpenAI's four statuses; a cancelled job is
// failed with code "cancelled".
func status(s protocol.State) string {
	switch s {
	case protocol.StateQueued:
		return StatusQueued
	case protocol.StateSucceeded:
		return StatusCompleted
	case protocol.StateFailed, protocol.StateCancelled:
		return StatusFailed
	}
	return StatusInProgress
}

// stageWeights split progress between the stages by how long each usually
// takes on reel-tiny (denoise dominates); they sum to 100.
var stageWeights = map[string]float64{
	protocol.StageTextEnc: 5, protocol.StageDenoise: 65, protocol.StageVAEDecode: 20, protocol.StageEncode: 10,
}

// progress is 0..100 from the stages' real steps and chunks; 100 only once
// the video is stored.
func progress(j *orchestrator.Job) int {
	if j.State == protocol.StateSucceeded {
		return 100
	}
	var p float64
	chunks := j.Settings.Chunks()
	for name, w := range stageWeights {
		s := j.Stages[name]
		if s == nil {
			continue
		}
		switch {
		case s.State == protocol.StateSucceeded:
			p += w
		case s.Steps > 0:
			p += w * float64(s.Step) / float64(s.Steps)
		case len(s.Chunks) > 0:
			n := max(s.Count, chunks, 1)
			p += w * float64(len(s.Chunks)) / float64(n)
		}
	}
	return min(int(math.Floor(p)), 99)
}

// formatSeconds writes a duration as OpenAI does ("4"), keeping a fraction
// only when there is one.
func formatSeconds(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) }

// toVideo renders a job record as a video object. m is the model that
// serves the job (its name, frame size and fps when the video has none yet).
func toVideo(j *orchestrator.Job, m protocol.Manifest, retention time.Duration) Video {
	fps := j.Settings.FPS
	if fps == 0 {
		fps = m.FPS
	}
	w, h := m.Width, m.Height
	seconds := float64(j.Settings.Frames) / float64(max(fps, 1))
	v := Video{
		ID: j.ID, Object: "video", CreatedAt: j.Created.Unix(), Model: m.Model,
		Progress: progress(j), Status: status(j.State), Prompt: &j.Prompt,
		Reel: Details{State: j.State, NegativePrompt: j.Negative, Settings: j.Settings,
			Stages: map[string]StageDetails{}, Frames: j.Settings.Frames},
	}
	if j.Parent != "" {
		v.Reel.ParentVideoID = j.Parent
		switch {
		case j.RemixOf != "":
			v.Reel.Derivation = DerivedRemix
			v.RemixedFromVideoID = &j.RemixOf
		case j.ExtendOf != "":
			v.Reel.Derivation = DerivedExtension
		default:
			v.Reel.Derivation, v.Reel.ReplayFrom = DerivedReplay, j.ReplayFrom
		}
	}
	if vi := j.Video; vi != nil {
		w, h, seconds, v.Reel.Encoder, v.Reel.Frames = vi.Width, vi.Height, vi.Seconds, vi.Encoder, vi.Frames
	}
	v.Seconds, v.Size = formatSeconds(seconds), fmt.Sprintf("%dx%d", w, h)
	if j.Finished != nil && j.State == protocol.StateSucceeded {
		t := j.Finished.Unix()
		v.CompletedAt = &t
	}
	if retention > 0 {
		t := j.Created.Add(retention).Unix()
		v.ExpiresAt = &t
	}
	switch j.State {
	case protocol.StateFailed:
		v.Error = &VideoError{Code: "generation_failed", Message: j.Error}
	case protocol.StateCancelled:
		msg := j.Error
		if msg == "" {
			msg = "cancelled"
		}
		v.Error = &VideoError{Code: "cancelled", Message: msg}
	}
	for name, s := range j.Stages {
		v.Reel.Stages[name] = StageDetails{State: s.State, Step: s.Step, Steps: s.Steps, Chunks: len(s.Chunks), Count: s.Count}
	}
	return v
}
