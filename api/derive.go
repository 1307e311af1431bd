package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// Videos made from a finished one: a remix (POST /v1/videos/{id}/remix, as
// OpenAI's SDKs call it), an extension (POST /v1/videos/extensions, the
// parent in video.id / video[id]) and reel's replay (POST
// /v1/videos/{id}/replay). Each is a new job of the orchestrator's linked
// kinds, owned by the caller's key, which must own the parent.

// Fields of the calls: OpenAI's and reel's own.
var (
	remixFields  = []string{"prompt", "strength", "seed"}
	extendFields = []string{"video", "video[id]", "prompt", "seconds", "frames", "seed"}
)

// replayFields are stage and the settings a replay may override (which of
// them a given stage may change, the orchestrator says).
func replayFields() []string {
	return slices.Concat([]string{"stage"}, protocol.GenerationSettings(), protocol.OutputSettings())
}

// parseSeed reads an optional seed.
func parseSeed(f map[string]string) (*int64, error) {
	v, ok := f["seed"]
	if !ok {
		return nil, nil
	}
	seed, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, paramError("seed", fmt.Sprintf("seed: %q is not a 64-bit integer", v))
	}
	return &seed, nil
}

// checkPrompt refuses an empty or oversized prompt, naming the field.
func checkPrompt(prompt string) error {
	return (protocol.Request{Prompt: prompt}).Validate()
}

// parent returns the caller's video id as a parent: it exists, the caller
// owns it and it has completed. param names the request field that named
// it; verb says what was asked ("remixed").
func (s *Server) parent(ctx context.Context, id, param, verb string) (*orchestrator.Job, error) {
	j, err := s.owned(ctx, id)
	if errors.Is(err, ErrNotFound) {
		e := newError(http.StatusNotFound, typeInvalidRequest, "not_found", err.Error())
		e.Param = &param
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	if j.State != protocol.StateSucceeded {
		return nil, conflict(param, "video_not_completed",
			fmt.Sprintf("video %s is %s; only a completed video can be %s", j.ID, status(j.State), verb))
	}
	return j, nil
}

// conflict is a 409: the request is well-formed but the parent's state
// does not allow it.
func conflict(param, code, message string) *apiError {
	e := newError(http.StatusConflict, typeInvalidRequest, code, message)
	e.Param = &param
	return e
}

// deriveError maps the orchestrator's refusals to what the client sees:
// a parent that is not finished or whose inputs aged out of the stream is
// a 409 naming param; a settings error a 400 naming the API's field
// (fields maps the orchestrator's name to it).
func deriveError(err error, param, expiredCode string, fields map[string]string) error {
	var fe *protocol.FieldError
	switch {
	case errors.Is(err, orchestrator.ErrNotFinished):
		return conflict(param, "video_not_completed", err.Error())
	case errors.Is(err, protocol.ErrMissing):
		return conflict(param, expiredCode, err.Error()+"; make a new video instead")
	case errors.Is(err, orchestrator.ErrNotFound):
		return newError(http.StatusNotFound, typeInvalidRequest, "not_found", err.Error())
	case errors.As(err, &fe):
		name := fe.Field
		if to, ok := fields[name]; ok {
			name = to
		}
		return paramError(name, name+": "+fe.Reason)
	}
	return err
}

func (s *Server) remix(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(r, s.cfg.MaxBodyBytes, remixFields)
	if err != nil {
		return err
	}
	req := orchestrator.RemixRequest{Prompt: f["prompt"], Strength: orchestrator.DefaultRemixStrength}
	if err := checkPrompt(req.Prompt); err != nil {
		return err
	}
	if v, ok := f["strength"]; ok {
		req.Strength, err = strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(req.Strength) || req.Strength <= 0 || req.Strength > 1 {
			return paramError("strength", fmt.Sprintf("strength: %q is not a number in (0, 1] (lower keeps more of the parent; 1 is a fresh generation)", v))
		}
	}
	if req.Seed, err = parseSeed(f); err != nil {
		return err
	}
	const param = "video_id" // the SDK's name for the id in the path
	return s.newVideo(w, r, "remixed", func(ctx context.Context, id string) (*orchestrator.Job, error) {
		parent, err := s.parent(ctx, r.PathValue("id"), param, "remixed")
		if err != nil {
			return nil, err
		}
		if src := parent.Settings.Source; src != nil && src.Kind == protocol.SourceExtend {
			return nil, conflict(param, "unsupported_parent",
				fmt.Sprintf("video %s is an extension of %s, whose latents hold its first part: remix %s, or extend a remix", parent.ID, src.Job, src.Job))
		}
		req.Job, req.ID = parent.ID, id
		if err := s.cfg.Backend.Remix(ctx, req); err != nil {
			return nil, deriveError(err, param, "latents_expired", map[string]string{"source.strength": "strength"})
		}
		child := queuedJob(id, protocol.Request{Prompt: req.Prompt}, parent.Settings)
		child.Parent, child.RemixOf = parent.ID, parent.ID
		return child, nil
	})
}

// videoRef reads the parent of an extension: video as {"id": ...} (JSON),
// video[id] (what the SDK's multipart form sends) or a bare id.
func videoRef(f map[string]string) (string, error) {
	if id := f["video[id]"]; id != "" {
		return id, nil
	}
	v := strings.TrimSpace(f["video"])
	if strings.HasPrefix(v, "{") {
		var ref struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(v), &ref); err != nil {
			return "", paramError("video", "video: not an object {\"id\": \"...\"}: "+err.Error())
		}
		v = ref.ID
	}
	if v == "" {
		return "", paramError("video", "video: required: the completed video to extend, as {\"id\": \"...\"}")
	}
	return v, nil
}

func (s *Server) extend(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(r, s.cfg.MaxBodyBytes, extendFields)
	if err != nil {
		return err
	}
	parentID, err := videoRef(f)
	if err != nil {
		return err
	}
	m := s.model()
	if served := s.served(r.Context()); len(served) > 0 {
		m = served[0]
	}
	length := "seconds"
	if _, ok := f["seconds"]; !ok {
		length = "frames"
	}
	frames, err := parseLength(m, f, m.MaxFrames)
	if err != nil {
		return err
	}
	if frames == 0 {
		return paramError("seconds", fmt.Sprintf("seconds: required: the length of the new segment, a whole number of %s-second chunks",
			formatSeconds(chunkSeconds(m))))
	}
	req := orchestrator.ExtendRequest{Frames: frames, Prompt: f["prompt"]}
	if req.Prompt != "" {
		if err := checkPrompt(req.Prompt); err != nil {
			return err
		}
	}
	if req.Seed, err = parseSeed(f); err != nil {
		return err
	}
	const param = "video"
	return s.newVideo(w, r, "extended", func(ctx context.Context, id string) (*orchestrator.Job, error) {
		parent, err := s.parent(ctx, parentID, param, "extended")
		if err != nil {
			return nil, err
		}
		if room := m.MaxFrames - parent.Settings.Frames; frames > room {
			sec := func(n int) string { return formatSeconds(float64(n) / float64(m.FPS)) }
			return nil, paramError(length, fmt.Sprintf("%s: %s more would make video %s %s s long, over %s's %s s; at most %s s (%d frames) more",
				length, f[length], parent.ID, sec(parent.Settings.Frames+frames), m.Model, sec(m.MaxFrames), sec(room), room))
		}
		req.Job, req.ID = parent.ID, id
		if err := s.cfg.Backend.Extend(ctx, req); err != nil {
			return nil, deriveError(err, param, "latents_expired", map[string]string{"frames": length})
		}
		set := parent.Settings
		set.Frames += frames
		prompt := req.Prompt
		if prompt == "" {
			prompt = parent.Prompt
		}
		child := queuedJob(id, protocol.Request{Prompt: prompt}, set)
		child.Parent, child.ExtendOf = parent.ID, parent.ID
		return child, nil
	})
}

// replay re-runs a video from one stage's persisted input (reel's own
// call, `reel replay` over HTTP): stage defaults to the stage a failed
// video failed in, else textenc; the other fields override settings.
func (s *Server) replay(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(r, s.cfg.MaxBodyBytes, replayFields())
	if err != nil {
		return err
	}
	stage := f["stage"]
	delete(f, "stage")
	if stage != "" && !slices.Contains(protocol.Stages(), stage) {
		return paramError("stage", fmt.Sprintf("stage: %q is not one of %s", stage, strings.Join(protocol.Stages(), ", ")))
	}
	const param = "video_id"
	return s.newVideo(w, r, "replayed", func(ctx context.Context, id string) (*orchestrator.Job, error) {
		parent, err := s.owned(ctx, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		from := stage
		if from == "" {
			from = protocol.StageTextEnc
			if parent.State == protocol.StateFailed && parent.FailedStage != "" {
				from = parent.FailedStage
			}
		}
		if err := s.cfg.Backend.Replay(ctx, orchestrator.ReplayRequest{Stage: from, Job: parent.ID, Set: f, ID: id}); err != nil {
			return nil, deriveError(err, param, "input_expired", nil)
		}
		set, err := orchestrator.ApplyOverrides(from, parent.Settings, f)
		if err != nil {
			set = parent.Settings
		}
		child := queuedJob(id, protocol.Request{Prompt: parent.Prompt, Negative: parent.Negative}, set)
		child.Parent, child.ReplayFrom = parent.ID, from
		return child, nil
	})
}
