package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
)

// Replay design: a replay is a new job, linked to its parent (Parent,
// ReplayFrom in the record), whose stage-S input is a copy of the parent's
// persisted stage-S input messages from stream REEL (re-addressed to the new
// job, settings overridden). Stages upstream of S never see the new job (their
// part of the record says "reused from <parent>"); S and everything downstream
// run as usual. The parent's messages and video are untouched, so the
// original result stays retrievable, and write-once subjects stay write-once.

// overridable lists the settings a replay from stage may change.
func overridable(stage string) ([]string, bool) {
	output := protocol.OutputSettings()
	switch stage {
	case protocol.StageTextEnc, protocol.StageDenoise:
		return append(protocol.GenerationSettings(), output...), true
	case protocol.StageVAEDecode, protocol.StageEncode:
		return output, true
	}
	return nil, false
}

// ApplyOverrides sets key=value overrides on s for a replay from stage,
// naming the key that is not allowed or does not parse.
func ApplyOverrides(stage string, s protocol.Settings, set map[string]string) (protocol.Settings, error) {
	allowed, ok := overridable(stage)
	if !ok {
		_, err := protocol.InputKind(stage)
		return s, err
	}
	for k, v := range set {
		if !slices.Contains(allowed, k) {
			return s, &protocol.FieldError{Field: k, Reason: fmt.Sprintf("cannot be changed when replaying from %s (allowed: %s)", stage, strings.Join(allowed, ", "))}
		}
		bad := func(err error) error { return &protocol.FieldError{Field: k, Reason: fmt.Sprintf("%q: %v", v, err)} }
		var err error
		switch k {
		case "frames":
			s.Frames, err = strconv.Atoi(v)
		case "steps":
			s.Steps, err = strconv.Atoi(v)
		case "guidance":
			s.Guidance, err = strconv.ParseFloat(v, 64)
		case "shift":
			s.Shift, err = strconv.ParseFloat(v, 64)
		case "seed":
			s.Seed, err = strconv.ParseInt(v, 10, 64)
		case "window_frames":
			s.WindowFrames, err = strconv.Atoi(v)
		case "overlap_frames":
			s.OverlapFrames, err = strconv.Atoi(v)
		case "fps":
			s.FPS, err = strconv.Atoi(v)
		case "codec":
			s.Codec = v
		case "crf":
			s.CRF, err = strconv.Atoi(v)
		case "seam_blend":
			var f float64
			f, err = strconv.ParseFloat(v, 64)
			s.SeamBlend = &f
		}
		if err != nil {
			return s, bad(err)
		}
	}
	return s, s.Validate()
}

// ReplayRequest asks for one replay.
type ReplayRequest struct {
	Stage string
	Job   string            // the parent
	Set   map[string]string // setting overrides
	ID    string            // new job id (default: generated)
}

// inputSubjects lists the parent's persisted input subjects of stage.
func inputSubjects(stage, job string, chunks int) ([]string, error) {
	switch stage {
	case protocol.StageTextEnc:
		return []string{protocol.PromptSubject(job)}, nil
	case protocol.StageDenoise:
		return []string{protocol.TextSubject(job)}, nil
	case protocol.StageVAEDecode, protocol.StageEncode:
		out := make([]string, chunks)
		for i := range out {
			if stage == protocol.StageVAEDecode {
				out[i] = protocol.LatentSubject(job, i)
			} else {
				out[i] = protocol.FramesSubject(job, i)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown stage %q", stage)
}

// Replay re-runs stage Stage of job Job (and the stages after it) as a new
// job from Stage's persisted input. It returns the new job id. Input that has
// aged out is an error naming the subject and the stream's retention.
func (s *Store) Replay(ctx context.Context, r ReplayRequest) (string, error) {
	parent, err := s.Get(ctx, r.Job)
	if err != nil {
		return "", err
	}
	set, err := ApplyOverrides(r.Stage, parent.Settings, r.Set)
	if err != nil {
		return "", err
	}
	subjects, err := inputSubjects(r.Stage, parent.ID, parent.Settings.Chunks())
	if err != nil {
		return "", err
	}
	// Read every input first: nothing is created unless all of it is there.
	envs, err := s.readInputs(ctx, parent.ID, subjects)
	if err != nil {
		return "", fmt.Errorf("replay %s of %s: %w", r.Stage, parent.ID, err)
	}
	now := s.now()
	id, err := s.newChildID(ctx, r.ID, now)
	if err != nil {
		return "", err
	}
	// The submitted event first: it carries the parent, which the prompt
	// messages (the projector's other source) do not.
	req := protocol.Request{Prompt: parent.Prompt, Negative: parent.Negative}
	if err := s.Record(ctx, protocol.Event{Job: id, Kind: protocol.EventSubmitted, Prompt: req.Prompt, Negative: req.Negative,
		Settings: &set, Parent: parent.ID, ReplayFrom: r.Stage, Time: now}); err != nil {
		return "", err
	}
	// The same inputs, addressed to the new job.
	targets, err := inputSubjects(r.Stage, id, len(envs))
	if err != nil {
		return "", err
	}
	for i, env := range envs {
		env.Job, env.Settings, env.Stage, env.Attempt = id, set, protocol.StageReplay, 1
		if _, err := s.b.PublishOnce(ctx, targets[i], env); err != nil {
			_ = s.Fail(ctx, id, "", fmt.Sprintf("replay: %v", err))
			return "", err
		}
	}
	return id, nil
}

// readInputs reads the persisted messages on subjects of job (a claim-checked
// body must still be in the bucket). A message that has aged out is an error
// naming its subject and the retention.
func (s *Store) readInputs(ctx context.Context, job string, subjects []string) ([]*protocol.Envelope, error) {
	var envs []*protocol.Envelope
	for _, subj := range subjects {
		m, err := s.b.LastMsg(ctx, subj)
		if err != nil {
			return nil, err
		}
		env, err := decodeInput(subj, job, m.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", subj, err)
		}
		if env.Claim != nil {
			if _, err := s.b.Blobs.GetInfo(ctx, env.Claim.Name); err != nil {
				return nil, fmt.Errorf("%w: claim-checked body %s of %s is gone (bucket %s, retention %s)",
					protocol.ErrMissing, env.Claim.Name, subj, protocol.BlobsBucket, s.b.Cfg.MaxAge)
			}
		}
		envs = append(envs, env)
	}
	return envs, nil
}

// newChildID is the id of a new linked job: id, or a generated one; an id
// that already has a job is refused.
func (s *Store) newChildID(ctx context.Context, id string, now time.Time) (string, error) {
	if id == "" {
		id = NewJobID(now)
	}
	if err := protocol.ValidJobID(id); err != nil {
		return "", err
	}
	ok, err := s.Exists(ctx, id)
	if err != nil {
		return "", err
	}
	if ok {
		return "", fmt.Errorf("%w: %s", ErrJobExists, id)
	}
	return id, nil
}

// decodeInput decodes a persisted stage input: a prompt in either of its
// encodings (a JSON prompt is replayed as the equivalent envelope), any
// other input as the envelope it is.
func decodeInput(subject, job string, data []byte) (*protocol.Envelope, error) {
	if subject == protocol.PromptSubject(job) {
		return protocol.DecodePromptMessage(job, data)
	}
	return protocol.UnmarshalEnvelope(data)
}

// ReplayWindow replays stage for every job whose stage input was stored in
// [since, until] (until zero: now). fn is called per job with the new id or
// the error; one job's error does not stop the others.
func (s *Store) ReplayWindow(ctx context.Context, stage string, since, until time.Time, set map[string]string, fn func(parent, child string, err error)) (int, error) {
	filter, err := protocol.ConsumerFilter(stage)
	if err != nil {
		return 0, err
	}
	if stage == protocol.StageVAEDecode {
		filter = "reel.latent.*.0" // one message per job
	}
	if until.IsZero() {
		until = time.Now()
	}
	cons, err := s.b.JS.OrderedConsumer(ctx, protocol.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &since,
	})
	if err != nil {
		return 0, err
	}
	info, err := s.b.Stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return 0, err
	}
	if info.State.Msgs == 0 {
		return 0, fmt.Errorf("%w: no %s input in stream %s (retention %s, first message %s)",
			protocol.ErrMissing, stage, protocol.StreamName, s.b.Cfg.MaxAge, info.State.FirstTime.Format(time.RFC3339))
	}
	var jobs []string
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
		if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
			break
		}
		if err != nil {
			return 0, err
		}
		md, err := m.Metadata()
		if err != nil {
			return 0, err
		}
		if md.Timestamp.After(until) {
			break
		}
		if sub, err := protocol.ParseSubject(m.Subject()); err == nil && !slices.Contains(jobs, sub.Job) {
			jobs = append(jobs, sub.Job)
		}
		if md.NumPending == 0 {
			break
		}
	}
	if len(jobs) == 0 && since.Before(info.State.FirstTime) {
		return 0, fmt.Errorf("%w: the oldest %s input in stream %s is from %s (retention %s)",
			protocol.ErrMissing, stage, protocol.StreamName, info.State.FirstTime.Format(time.RFC3339), s.b.Cfg.MaxAge)
	}
	for _, j := range jobs {
		child, err := s.Replay(ctx, ReplayRequest{Stage: stage, Job: j, Set: set})
		fn(j, child, err)
	}
	return len(jobs), nil
}
