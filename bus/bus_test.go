package bus_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

func TestServerRefusesLockedStoreDir(t *testing.T) {
	dir := t.TempDir()
	bustest.Server(t, bustest.Options{DataDir: dir})
	_, err := bus.StartServer(bus.ServerConfig{DataDir: dir, Port: -1}, bustest.Logger(t))
	if !errors.Is(err, bus.ErrStoreLocked) {
		t.Fatalf("second server on %s: got %v, want ErrStoreLocked", dir, err)
	}
}

func TestEnvelopeRoundTripAndMalformed(t *testing.T) {
	env := &protocol.Envelope{Job: "j1", Stage: "denoise", Settings: protocol.DefaultSettings(), Chunk: 1, Count: 3}
	lat := []float32{1, -2.5, 3e-8, 0}
	if err := env.SetBody(protocol.LatentBody{Latent: protocol.F32Tensor(lat, 1, 4)}); err != nil {
		t.Fatal(err)
	}
	data, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := protocol.UnmarshalEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	var body protocol.LatentBody
	if err := got.DecodeBody(&body); err != nil {
		t.Fatal(err)
	}
	v, err := body.Latent.Float32s(1, 4)
	if err != nil || len(v) != 4 || v[1] != -2.5 || v[2] != 3e-8 {
		t.Fatalf("tensor round trip: got %v, %v", v, err)
	}
	if _, err := body.Latent.Float32s(2, 2); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("wrong shape: got %v, want protocol.ErrMalformed", err)
	}

	bad := map[string][]byte{
		"garbage": []byte("\xc1not msgpack"),
		"schema":  mustMarshal(t, map[string]any{"v": 99, "job": "j1", "settings": protocol.DefaultSettings()}),
		"job":     mustMarshal(t, map[string]any{"v": 1, "job": "a.b", "settings": protocol.DefaultSettings()}),
		"frames":  mustMarshal(t, map[string]any{"v": 1, "job": "j", "settings": protocol.Settings{Frames: 17, Steps: 1, Shift: 1}}),
	}
	for name, data := range bad {
		if _, err := protocol.UnmarshalEnvelope(data); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("%s: got %v, want protocol.ErrMalformed", name, err)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSettingsValidateNamesField(t *testing.T) {
	cases := map[string]func(*protocol.Settings){
		"frames":   func(s *protocol.Settings) { s.Frames = 20 },
		"steps":    func(s *protocol.Settings) { s.Steps = 201 },
		"guidance": func(s *protocol.Settings) { s.Guidance = -1 },
		"shift":    func(s *protocol.Settings) { s.Shift = 0 },
		"fps":      func(s *protocol.Settings) { s.FPS = 121 },
		"codec":    func(s *protocol.Settings) { s.Codec = "vp9" },
		"crf":      func(s *protocol.Settings) { s.CRF = 52 },
		"seam_blend": func(s *protocol.Settings) {
			v := 0.6
			s.SeamBlend = &v
		},
	}
	for field, mut := range cases {
		s := protocol.DefaultSettings()
		mut(&s)
		err := s.Validate()
		var fe *protocol.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
	ok := protocol.DefaultSettings()
	ok.Codec, ok.CRF = protocol.CodecH264, 23
	if err := ok.Validate(); err != nil {
		t.Errorf("h264, crf 23: %v", err)
	}
	if err := (protocol.Request{Prompt: strings.Repeat("x", protocol.MaxPromptBytes+1)}).Validate(); err == nil || !strings.Contains(err.Error(), "prompt") {
		t.Errorf("long prompt: got %v", err)
	}
}

// A write-once subject keeps its first message; a re-run adds nothing.
func TestPublishOnceIsIdempotent(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, 30*time.Second)
	subj := protocol.LatentSubject("j1", 0)
	for i := range 3 {
		env := &protocol.Envelope{Job: "j1", Stage: "denoise", Settings: protocol.DefaultSettings(), Attempt: i + 1, Count: 3}
		_ = env.SetBody(protocol.LatentBody{Latent: protocol.F32Tensor([]float32{float32(i)}, 1)})
		dup, err := b.PublishOnce(ctx, subj, env)
		if err != nil {
			t.Fatal(err)
		}
		if dup != (i > 0) {
			t.Fatalf("publish %d: duplicate=%v", i, dup)
		}
	}
	info, err := b.Stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1", info.State.Msgs)
	}
	m, err := b.LastMsg(ctx, subj)
	if err != nil {
		t.Fatal(err)
	}
	env, err := b.Decode(ctx, m.Data)
	if err != nil || env.Attempt != 1 {
		t.Fatalf("kept message: attempt %v err %v, want the first", env.Attempt, err)
	}
}

// A body larger than the server's max_payload goes through the claim check.
func TestPayloadLargerThanMaxPayload(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{MaxPayload: 64 << 10})
	ctx := bustest.Ctx(t, 30*time.Second)
	if mp := b.MaxPayload(); mp != 64<<10 {
		t.Fatalf("max payload %d", mp)
	}
	frames := bytes.Repeat([]byte{1, 2, 3, 250}, 3*64*64*16/4) // 196 KiB > 64 KiB
	env := &protocol.Envelope{Job: "big", Stage: "vaedecode", Settings: protocol.DefaultSettings(), Chunk: 0, Count: 3}
	_ = env.SetBody(protocol.FramesBody{Frames: protocol.U8Tensor(frames, 16, 64, 64, 3)})
	if _, err := b.PublishOnce(ctx, protocol.FramesSubject("big", 0), env); err != nil {
		t.Fatal(err)
	}
	m, err := b.LastMsg(ctx, protocol.FramesSubject("big", 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Data) > 64<<10 {
		t.Fatalf("message is %d bytes", len(m.Data))
	}
	got, err := b.Decode(ctx, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	var body protocol.FramesBody
	if err := got.DecodeBody(&body); err != nil {
		t.Fatal(err)
	}
	px, err := body.Frames.Bytes(16, 64, 64, 3)
	if err != nil || !bytes.Equal(px, frames) {
		t.Fatalf("frames differ after claim check (err %v)", err)
	}
}

// A client attaching later keeps the layout the server set up.
func TestAttachKeepsServerLayout(t *testing.T) {
	lc := bus.LayoutConfig{MaxAge: time.Hour, MaxBytes: 32 << 20, AckWait: 7 * time.Second, MaxDeliver: 3}
	s, _ := bustest.Start(t, bustest.Options{Layout: lc})
	ctx := bustest.Ctx(t, 30*time.Second)
	b, err := bus.Open(ctx, bus.ConnectConfig{URL: s.ClientURL()}, bus.LayoutConfig{}, bustest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Cfg.MaxAge != time.Hour || b.Cfg.AckWait != 7*time.Second || b.Cfg.MaxDeliver != 3 || b.Cfg.MaxBytes != 32<<20 {
		t.Fatalf("attached layout %+v", b.Cfg)
	}
	c, err := b.Consumer(ctx, protocol.StageDenoise)
	if err != nil {
		t.Fatal(err)
	}
	if ci := c.CachedInfo().Config; ci.AckWait != 7*time.Second || ci.MaxDeliver != 3 {
		t.Fatalf("consumer %+v", ci)
	}
}

func TestJobOf(t *testing.T) {
	hdr := func(job string) nats.Header {
		h := nats.Header{}
		if job != "" {
			h.Set(protocol.HeaderJob, job)
		}
		return h
	}
	for _, c := range []struct {
		header, subject, want string
	}{
		// The subject names the job; a forged header cannot redirect a
		// message to another job (it was "j1" before).
		{"j1", protocol.LatentSubject("j2", 0), "j2"},
		{"j1", "other.subject", "j1"},
		{"", protocol.LatentSubject("j2", 0), "j2"},
		{"not a job", protocol.PromptSubject("j3"), "j3"},
		{"", "reel.latent.j4", ""},
		{"", "other.subject", ""},
	} {
		if got := bus.JobOf(hdr(c.header), c.subject); got != c.want {
			t.Errorf("JobOf(%q, %q) = %q, want %q", c.header, c.subject, got, c.want)
		}
	}
}
