package protocol_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

func msgpackPrompt(t *testing.T, env map[string]any, body map[string]any) []byte {
	t.Helper()
	if body != nil {
		b, err := msgpack.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		env["body"] = b
	}
	data, err := msgpack.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodePrompt(t *testing.T) {
	seed4 := protocol.DefaultSettings()
	seed4.Seed = 4
	custom := protocol.DefaultSettings()
	custom.Frames, custom.Steps, custom.Guidance, custom.FPS = 16, 2, 4, 12
	blend := 0.25
	custom.SeamBlend = &blend
	goEnv := &protocol.Envelope{Job: "j1", Stage: protocol.StageSubmit, Attempt: 1, Settings: custom}
	if err := goEnv.SetBody(protocol.Request{Prompt: "p", Negative: "n"}); err != nil {
		t.Fatal(err)
	}
	goData, err := goEnv.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		data    []byte
		req     protocol.Request
		set     protocol.Settings
		wantErr string // substring; "" = valid
		kind    error  // ErrMalformed or ErrInvalid
	}{
		{name: "json defaults", data: []byte(`{"prompt":"a red circle moving right","settings":{"seed":4}}`),
			req: protocol.Request{Prompt: "a red circle moving right"}, set: seed4},
		{name: "json leading blank and unknown fields", data: []byte(" \n{\"prompt\":\"p\",\"future\":[1,2],\"settings\":{\"seed\":4,\"newknob\":true}}"),
			req: protocol.Request{Prompt: "p"}, set: seed4},
		{name: "json all fields", data: []byte(`{"v":1,"prompt":"p","negative":"n","settings":{"frames":16,"steps":2.0,"guidance":4,"fps":12,"seam_blend":0.25}}`),
			req: protocol.Request{Prompt: "p", Negative: "n"}, set: custom},
		{name: "json null is default", data: []byte(`{"prompt":"p","negative":null,"settings":{"seed":4,"steps":null}}`),
			req: protocol.Request{Prompt: "p"}, set: seed4},
		{name: "go envelope", data: goData, req: protocol.Request{Prompt: "p", Negative: "n"}, set: custom},
		{name: "foreign msgpack, settings partly absent", data: msgpackPrompt(t, map[string]any{"v": 1, "job": "j1", "settings": map[string]any{"seed": 4}}, map[string]any{"prompt": "p"}),
			req: protocol.Request{Prompt: "p"}, set: seed4},
		{name: "json prompt int", data: []byte(`{"prompt": 5}`), wantErr: "prompt: want a string, got int", kind: protocol.ErrMalformed},
		{name: "json missing prompt", data: []byte(`{"settings":{}}`), wantErr: "prompt: is required", kind: protocol.ErrMalformed},
		{name: "json frames float", data: []byte(`{"prompt":"p","settings":{"frames":16.5}}`), wantErr: "frames: want an integer, got float 16.5", kind: protocol.ErrMalformed},
		{name: "json settings not a map", data: []byte(`{"prompt":"p","settings":[1]}`), wantErr: "settings: want a map, got array", kind: protocol.ErrMalformed},
		{name: "json guidance string", data: []byte(`{"prompt":"p","settings":{"guidance":"5"}}`), wantErr: "guidance: want a number, got string", kind: protocol.ErrMalformed},
		{name: "json bad frames value", data: []byte(`{"prompt":"p","settings":{"frames":20}}`), wantErr: "frames: 20 is not a positive multiple of 16", kind: protocol.ErrInvalid},
		{name: "json empty prompt", data: []byte(`{"prompt":""}`), wantErr: "prompt: is empty", kind: protocol.ErrInvalid},
		{name: "json unknown version", data: []byte(`{"v":2,"prompt":"p"}`), wantErr: "unknown schema version 2", kind: protocol.ErrMalformed},
		{name: "json trailing data", data: []byte(`{"prompt":"p"} x`), wantErr: "data after the JSON object", kind: protocol.ErrMalformed},
		{name: "json broken", data: []byte(`{"prompt":`), wantErr: "not a JSON object", kind: protocol.ErrMalformed},
		{name: "msgpack unknown version", data: msgpackPrompt(t, map[string]any{"v": 2, "job": "j1"}, map[string]any{"prompt": "p"}), wantErr: "unknown schema version 2", kind: protocol.ErrMalformed},
		{name: "msgpack prompt int", data: msgpackPrompt(t, map[string]any{"v": 1, "job": "j1"}, map[string]any{"prompt": 5}), wantErr: "prompt: want a string, got int", kind: protocol.ErrMalformed},
		{name: "msgpack seed string", data: msgpackPrompt(t, map[string]any{"v": 1, "job": "j1", "settings": map[string]any{"seed": "4"}}, map[string]any{"prompt": "p"}), wantErr: "seed: want an integer, got string", kind: protocol.ErrMalformed},
		{name: "msgpack no body", data: msgpackPrompt(t, map[string]any{"v": 1, "job": "j1"}, nil), wantErr: "body: is required", kind: protocol.ErrMalformed},
		{name: "garbage", data: []byte{0xc1}, wantErr: "envelope: neither a msgpack envelope nor a JSON object", kind: protocol.ErrMalformed},
		{name: "empty", data: nil, wantErr: "envelope: neither a msgpack envelope nor a JSON object", kind: protocol.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, set, err := protocol.DecodePrompt(c.data)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if req != c.req {
					t.Errorf("request %+v, want %+v", req, c.req)
				}
				if set.SeamBlend != nil && c.set.SeamBlend != nil && *set.SeamBlend == *c.set.SeamBlend {
					set.SeamBlend = c.set.SeamBlend
				}
				if set != c.set {
					t.Errorf("settings %+v, want %+v", set, c.set)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, c.wantErr)
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("error %v does not wrap %v", err, c.kind)
			}
			var fe *protocol.FieldError
			if strings.Contains(c.wantErr, ": want") && !errors.As(err, &fe) {
				t.Errorf("error %v carries no *FieldError", err)
			}
		})
	}
}

// The job id comes from the subject: an envelope naming another job fails;
// a JSON prompt takes the subject's.
func TestDecodePromptMessageJob(t *testing.T) {
	data := msgpackPrompt(t, map[string]any{"v": 1, "job": "other"}, map[string]any{"prompt": "p"})
	if _, err := protocol.DecodePromptMessage("j1", data); err == nil || !strings.Contains(err.Error(), `job: the envelope names job "other"`) {
		t.Fatalf("got %v", err)
	}
	env, err := protocol.DecodePromptMessage("j1", []byte(`{"prompt":"p"}`))
	if err != nil {
		t.Fatal(err)
	}
	if env.Job != "j1" || env.Stage != protocol.StageClient || env.V != protocol.SchemaVersion {
		t.Fatalf("envelope %+v", env)
	}
	var req protocol.Request
	if err := env.DecodeBody(&req); err != nil || req.Prompt != "p" {
		t.Fatalf("body %+v %v", req, err)
	}
	if _, err := protocol.DecodePromptMessage("bad.id", []byte(`{"prompt":"p"}`)); err == nil {
		t.Fatal("an invalid job id was accepted")
	}
}

// DecodePrompt never panics, and what it accepts is valid.
func FuzzDecodePrompt(f *testing.F) {
	f.Add([]byte(`{"prompt":"a red circle moving right","settings":{"seed":4}}`))
	f.Add([]byte(`{"prompt": 5}`))
	f.Add([]byte(`{"prompt":"p","settings":{"frames":1e300,"seed":-9.5}}`))
	f.Add([]byte("\x83\xa1v\x01\xa3job\xa2j1\xa4body\xc4\x07\x81\xa6prompt\xa1p"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, set, err := protocol.DecodePrompt(data)
		if err != nil {
			return
		}
		if req.Validate() != nil || set.Validate() != nil {
			t.Fatalf("accepted an invalid prompt: %+v %+v", req, set)
		}
	})
}
