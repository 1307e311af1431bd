package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// A prompt message (reel.prompt.<job>) comes in one of two encodings
// (docs/protocol.md, "Prompt message"):
//
//   - the msgpack envelope every stage message uses, with a msgpack Request
//     as its body (what reel's own clients publish);
//   - a plain JSON object {"prompt", "negative"?, "settings"?, "v"?}, for any
//     client, down to `nats pub`.
//
// The first non-blank byte tells them apart: '{' is JSON (a msgpack envelope
// starts with a map header, 0x80-0x8f or 0xde/0xdf, never '{'). Both decode
// onto DefaultSettings, so an absent field takes its default, and unknown
// fields are ignored (a newer client may add optional fields within a schema
// version). Every known field is type-checked on its own, so that a wrong
// type fails with the field's name: "prompt: want a string, got int".

// StageClient is the envelope stage of a prompt decoded from JSON: it names
// no reel stage, only that a client published it.
const StageClient = "client"

// StageSubmit, StageReplay, StageExtend and StageRemix are the envelope
// stages of the prompts reel publishes itself: `reel submit`, a replay from
// textenc, an extension and a remix. The last three come after their job's
// submitted event, which names the parent (Linked).
const (
	StageSubmit = "submit"
	StageReplay = "replay"
	StageExtend = "extend"
	StageRemix  = "remix"
)

// Linked reports whether a prompt of this envelope stage belongs to a job
// linked to a parent, whose submitted event its publisher appended.
func Linked(stage string) bool {
	return stage == StageReplay || stage == StageExtend || stage == StageRemix
}

// IsJSON reports whether a prompt message is the JSON encoding.
func IsJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// DecodePrompt decodes a prompt message in either encoding and validates it.
// The settings start from DefaultSettings. On error, req and set hold what
// could be read (for a record of the failed job); the error names the field
// and wraps ErrMalformed (undecodable, wrong type, unknown schema version)
// or ErrInvalid (a value out of range), with a *FieldError inside where one
// field is to blame.
func DecodePrompt(data []byte) (req Request, set Settings, err error) {
	env, err := DecodePromptMessage("", data)
	if env == nil {
		return Request{}, DefaultSettings(), err
	}
	req, _ = env.promptRequest()
	return req, env.Settings, err
}

// DecodePromptMessage decodes the prompt message of job (the job token of
// its subject; "" skips the check) into an envelope whose body is the
// msgpack Request, whichever encoding it came in, so that a stage sees one
// shape. A msgpack envelope naming another job is malformed. The envelope
// is returned along with an error when enough of it was read.
func DecodePromptMessage(job string, data []byte) (*Envelope, error) {
	if job != "" {
		if err := ValidJobID(job); err != nil {
			return nil, Malformedf("prompt: %v", err)
		}
	}
	var env *Envelope
	var err error
	if IsJSON(data) {
		env, err = decodeJSONPrompt(job, data)
	} else {
		env, err = decodeMsgpackPrompt(job, data)
	}
	if err != nil {
		return env, err
	}
	req, err := env.promptRequest()
	if err != nil {
		return env, err
	}
	if err := req.Validate(); err != nil {
		return env, err
	}
	return env, env.Settings.Validate()
}

// promptRequest decodes the body of a normalised prompt envelope.
func (e *Envelope) promptRequest() (Request, error) {
	var req Request
	if e.Body == nil {
		return req, nil
	}
	err := Unmarshal(e.Body, &req)
	return req, err
}

func decodeJSONPrompt(job string, data []byte) (*Envelope, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, Malformedf("prompt: not a JSON object: %v", err)
	}
	if d.More() {
		return nil, Malformedf("prompt: data after the JSON object")
	}
	env := &Envelope{V: SchemaVersion, Job: job, Stage: StageClient, Attempt: 1, Settings: DefaultSettings()}
	f := newFields(m)
	if v, ok := f.int("v"); ok && v != SchemaVersion {
		return nil, Malformedf("prompt: unknown schema version %d (this build reads %d)", v, SchemaVersion)
	}
	var req Request
	req.Prompt, _ = f.string("prompt")
	req.Negative, _ = f.string("negative")
	if s, ok := f.object("settings"); ok {
		s.settings(&env.Settings)
	}
	if f.first() != nil {
		_ = env.SetBody(req)
		return env, f.first()
	}
	if err := env.SetBody(req); err != nil {
		return env, err
	}
	if _, ok := f.get("prompt"); !ok {
		return env, malformedField("prompt", "is required")
	}
	return env, nil
}

func decodeMsgpackPrompt(job string, data []byte) (*Envelope, error) {
	var m map[string]any
	if err := Unmarshal(data, &m); err != nil {
		return nil, Malformedf("envelope: neither a msgpack envelope nor a JSON object: %v", err)
	}
	f := newFields(m)
	v, ok := f.int("v")
	if f.first() != nil {
		return nil, f.first()
	}
	if !ok || v != SchemaVersion {
		return nil, Malformedf("envelope: unknown schema version %d (this build reads %d)", v, SchemaVersion)
	}
	env := &Envelope{V: SchemaVersion, Job: job, Stage: StageClient, Attempt: 1, Settings: DefaultSettings()}
	if named, ok := f.string("job"); ok {
		if job != "" && named != job {
			return nil, malformedField("job", fmt.Sprintf("the envelope names job %q, the subject job %q", named, job))
		}
		env.Job = named
	}
	if st, ok := f.string("stage"); ok && st != "" {
		env.Stage = st
	}
	if a, ok := f.int("attempt"); ok {
		env.Attempt = int(a)
	}
	if s, ok := f.object("settings"); ok {
		s.settings(&env.Settings)
	}
	if _, ok := m["claim"]; ok && m["claim"] != nil {
		f.fail("claim", "not resolved (resolve a claim-checked body before decoding the prompt)")
	}
	body, _ := f.bytes("body")
	if f.first() != nil {
		return env, f.first()
	}
	if err := ValidJobID(env.Job); err != nil {
		return env, Malformedf("envelope: %v", err)
	}
	if body == nil {
		return env, malformedField("body", "is required (the msgpack request {prompt, negative})")
	}
	var bm map[string]any
	if err := Unmarshal(body, &bm); err != nil {
		return env, malformedField("body", fmt.Sprintf("not a msgpack map: %v", err))
	}
	bf := newFields(bm)
	var req Request
	req.Prompt, _ = bf.string("prompt")
	req.Negative, _ = bf.string("negative")
	_ = env.SetBody(req)
	if bf.first() != nil {
		return env, bf.first()
	}
	if _, ok := bf.get("prompt"); !ok {
		return env, malformedField("prompt", "is required")
	}
	return env, nil
}

// settings reads the known settings fields onto s (absent ones keep s's).
func (f *fields) settings(s *Settings) {
	if v, ok := f.int("frames"); ok {
		s.Frames = int(v)
	}
	if v, ok := f.int("steps"); ok {
		s.Steps = int(v)
	}
	if v, ok := f.float("guidance"); ok {
		s.Guidance = v
	}
	if v, ok := f.float("shift"); ok {
		s.Shift = v
	}
	if v, ok := f.int("seed"); ok {
		s.Seed = v
	}
	if v, ok := f.int("fps"); ok {
		s.FPS = int(v)
	}
	if v, ok := f.string("model"); ok {
		s.Model = v
	}
	if v, ok := f.string("codec"); ok {
		s.Codec = v
	}
	if v, ok := f.int("crf"); ok {
		s.CRF = int(v)
	}
	if v, ok := f.float("seam_blend"); ok {
		s.SeamBlend = &v
	}
	if v, ok := f.int("window_frames"); ok {
		s.WindowFrames = int(v)
	}
	if v, ok := f.int("overlap_frames"); ok {
		s.OverlapFrames = int(v)
	}
	if src, ok := f.object("source"); ok {
		s.Source = &Source{}
		s.Source.Kind, _ = src.string("kind")
		s.Source.Job, _ = src.string("job")
		if v, ok := src.int("chunks"); ok {
			s.Source.Chunks = int(v)
		}
		if v, ok := src.int("latents"); ok {
			s.Source.Latents = int(v)
		}
		s.Source.Strength, _ = src.float("strength")
	}
}

func malformedField(field, reason string) error {
	return fmt.Errorf("%w: %w", ErrMalformed, &FieldError{Field: field, Reason: reason})
}
