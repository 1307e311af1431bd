package orchestrator

import (
	"context"
	"errors"
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
)

// Extension and remix design: like a replay, each is a new job linked to its
// parent (Parent plus ExtendOf or RemixOf in the record) that reuses what
// the parent persisted in stream REEL, read before anything is created.
// Its settings name the parent latent in settings.source, so its denoise
// stage starts from it; the rest of the pipeline runs as for any job.
//
//   - Extend: the child's video is the parent's frames followed by new
//     ones. The parent's frames chunks are copied to the child's subjects
//     (neither re-denoised nor re-decoded); its denoise reads the parent's
//     last latent chunks as known frames and publishes only the new chunks,
//     at indices from the parent's chunk count on.
//   - Remix: the child's denoise starts from all of the parent's latent
//     chunks at a strength under the new prompt.

// ErrNotFinished refuses an extension or remix of a job that has not
// succeeded: its latents may be incomplete.
var ErrNotFinished = errors.New("job not finished")

// DefaultRemixStrength is the strength of a remix that gives none.
const DefaultRemixStrength = 0.6

// ExtendRequest asks for an extension of a finished job.
type ExtendRequest struct {
	Job    string // the parent, a succeeded job
	Frames int    // new frames: a positive multiple of 16
	// Prompt of the new frames; "" keeps the parent's (and its negative).
	Prompt string
	Seed   *int64 // nil: the parent's
	ID     string // new job id (default: generated)
}

// RemixRequest asks for a remix of a finished job.
type RemixRequest struct {
	Job      string  // the parent, a succeeded job
	Prompt   string  // required
	Strength float64 // in (0, 1]; 0 means DefaultRemixStrength
	Seed     *int64  // nil: the parent's
	ID       string  // new job id (default: generated)
}

// finished returns the parent job if it has succeeded.
func (s *Store) finished(ctx context.Context, what, id string) (*Job, error) {
	parent, err := s.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, id, err)
	}
	if parent.State != protocol.StateSucceeded {
		return nil, fmt.Errorf("%s %s: %w: it is %s (only a succeeded job's latents are complete)", what, id, ErrNotFinished, parent.State)
	}
	return parent, nil
}

// ownLatents is the first latent chunk the job's own latent subjects hold:
// an extension published only its new chunks, the rest are its parent's.
func ownLatents(j *Job) int {
	if src := j.Settings.Source; src != nil && src.Kind == protocol.SourceExtend {
		return src.Chunks
	}
	return 0
}

func latentSubjects(job string, from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, protocol.LatentSubject(job, i))
	}
	return out
}

// Extend creates an extension of job r.Job and returns its id. Refused,
// before anything is published, when the parent has not succeeded, when
// the settings do not fit (the longer video past the frame limit, a bad
// frame count) or when the parent's frames or latent chunks have aged out
// of the stream (the error names the subject and the retention).
func (s *Store) Extend(ctx context.Context, r ExtendRequest) (string, error) {
	parent, err := s.finished(ctx, "extend", r.Job)
	if err != nil {
		return "", err
	}
	p := parent.Settings.Chunks()
	if r.Frames <= 0 || r.Frames%protocol.FramesPerChunk != 0 {
		return "", &protocol.FieldError{Field: "frames", Reason: fmt.Sprintf("%d new frames: want a positive multiple of %d", r.Frames, protocol.FramesPerChunk)}
	}
	set := parent.Settings
	set.Frames += r.Frames
	if r.Seed != nil {
		set.Seed = *r.Seed
	}
	own := ownLatents(parent)
	set.Source = &protocol.Source{Kind: protocol.SourceExtend, Job: parent.ID, Chunks: p, Latents: p - own}
	req := protocol.Request{Prompt: parent.Prompt, Negative: parent.Negative}
	if r.Prompt != "" {
		req = protocol.Request{Prompt: r.Prompt}
	}
	if err := Validate(req, set); err != nil {
		return "", fmt.Errorf("extend %s by %d frames: %w", parent.ID, r.Frames, err)
	}
	// Everything the child reads, first: the parent's frames (copied) and
	// its latent chunks (its denoise reads the last of them).
	frames := make([]string, p)
	for i := range frames {
		frames[i] = protocol.FramesSubject(parent.ID, i)
	}
	envs, err := s.readInputs(ctx, parent.ID, frames)
	if err != nil {
		return "", fmt.Errorf("extend %s: %w", parent.ID, err)
	}
	if _, err := s.readInputs(ctx, parent.ID, latentSubjects(parent.ID, own, p)); err != nil {
		return "", fmt.Errorf("extend %s: %w", parent.ID, err)
	}
	// The parent's record holds its settings as submitted; its messages
	// carry the fps textenc resolved. The copied frames need it: an encode
	// stage without a model has no fps of its own.
	if set.FPS == 0 && len(envs) > 0 {
		set.FPS = envs[0].Settings.FPS
	}
	now := s.now()
	id, err := s.newChildID(ctx, r.ID, now)
	if err != nil {
		return "", err
	}
	if err := s.Record(ctx, protocol.Event{Job: id, Kind: protocol.EventSubmitted, Prompt: req.Prompt, Negative: req.Negative,
		Settings: &set, Parent: parent.ID, ExtendOf: parent.ID, Time: now}); err != nil {
		return "", err
	}
	for i, env := range envs {
		env.Job, env.Settings, env.Stage, env.Attempt, env.Count = id, set, protocol.StageExtend, 1, set.Chunks()
		if _, err := s.b.PublishOnce(ctx, protocol.FramesSubject(id, i), env); err != nil {
			_ = s.Fail(ctx, id, "", fmt.Sprintf("extend: %v", err))
			return "", err
		}
	}
	return id, s.publishPrompt(ctx, id, protocol.StageExtend, req, set)
}

// Remix creates a remix of job r.Job under r.Prompt and returns its id,
// refused as Extend is (a parent that is itself an extension is refused
// too: the latents of its first chunks are its own parent's).
func (s *Store) Remix(ctx context.Context, r RemixRequest) (string, error) {
	parent, err := s.finished(ctx, "remix", r.Job)
	if err != nil {
		return "", err
	}
	if own := ownLatents(parent); own > 0 {
		return "", fmt.Errorf("remix %s: it extends %s, whose latents are its first %d chunks: remix %s, or extend a remix",
			parent.ID, parent.Settings.Source.Job, own, parent.Settings.Source.Job)
	}
	strength := r.Strength
	if strength == 0 {
		strength = DefaultRemixStrength
	}
	set := parent.Settings
	if r.Seed != nil {
		set.Seed = *r.Seed
	}
	p := set.Chunks()
	set.Source = &protocol.Source{Kind: protocol.SourceRemix, Job: parent.ID, Chunks: p, Strength: strength}
	req := protocol.Request{Prompt: r.Prompt}
	if err := Validate(req, set); err != nil {
		return "", fmt.Errorf("remix %s: %w", parent.ID, err)
	}
	if _, err := s.readInputs(ctx, parent.ID, latentSubjects(parent.ID, 0, p)); err != nil {
		return "", fmt.Errorf("remix %s: %w", parent.ID, err)
	}
	now := s.now()
	id, err := s.newChildID(ctx, r.ID, now)
	if err != nil {
		return "", err
	}
	if err := s.Record(ctx, protocol.Event{Job: id, Kind: protocol.EventSubmitted, Prompt: req.Prompt,
		Settings: &set, Parent: parent.ID, RemixOf: parent.ID, Time: now}); err != nil {
		return "", err
	}
	return id, s.publishPrompt(ctx, id, protocol.StageRemix, req, set)
}

// publishPrompt publishes a linked job's prompt (its textenc input); on
// failure the job, already recorded, fails.
func (s *Store) publishPrompt(ctx context.Context, id, stage string, req protocol.Request, set protocol.Settings) error {
	env := &protocol.Envelope{Job: id, Stage: stage, Attempt: 1, Settings: set}
	if err := env.SetBody(req); err != nil {
		return err
	}
	if _, err := s.b.PublishOnce(ctx, protocol.PromptSubject(id), env); err != nil {
		_ = s.Fail(ctx, id, "", fmt.Sprintf("%s: %v", stage, err))
		return err
	}
	return nil
}
