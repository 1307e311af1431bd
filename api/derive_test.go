package api_test

import (
	"bytes"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/api"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
)

// wantErr checks an OpenAI-shaped error: status, code, param and a phrase
// of the message.
func wantErr(t *testing.T, what string, status int, data []byte, gotStatus int, code, param, says string) {
	t.Helper()
	eb := decodeErr(t, data)
	p, c := "", ""
	if eb.Error.Param != nil {
		p = *eb.Error.Param
	}
	if eb.Error.Code != nil {
		c = *eb.Error.Code
	}
	if gotStatus != status || c != code || p != param || !strings.Contains(eb.Error.Message, says) {
		t.Errorf("%s: %d code %q param %q %q; want %d %q %q containing %q", what, gotStatus, c, p, eb.Error.Message, status, code, param, says)
	}
}

// Remix, extension and replay refuse, before any job exists, what they
// cannot do: another key's video is a 404 (as one that does not exist),
// an unfinished parent a 409, bad fields 400s naming the field.
func TestDeriveRefuses(t *testing.T) {
	keys, err := api.NewKeys("alice-key", "bob-key")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Config{Keys: keys}, true) // bare: the video stays queued
	v := e.create(t, "alice-key", nil)
	remix := "/v1/videos/" + v.ID + "/remix"
	ext := "/v1/videos/extensions"
	ref := `"video":{"id":"` + v.ID + `"}`
	cases := []struct {
		path, key, body   string
		status            int
		code, param, says string
	}{
		{remix, "bob-key", `{"prompt":"a red circle"}`, 404, "not_found", "video_id", v.ID},
		{"/v1/videos/20990101-000000-abcdef/remix", "alice-key", `{"prompt":"a red circle"}`, 404, "not_found", "video_id", "not found"},
		{remix, "alice-key", `{"prompt":"a red circle"}`, 409, "video_not_completed", "video_id", "is queued; only a completed video can be remixed"},
		{remix, "", `{"prompt":"a red circle"}`, 401, "missing_api_key", "", "no API key"},
		{remix, "alice-key", `{"strength":0.5}`, 400, "invalid_value", "prompt", "empty"},
		{remix, "alice-key", `{"prompt":"x","strength":1.5}`, 400, "invalid_value", "strength", "(0, 1]"},
		{remix, "alice-key", `{"prompt":"x","strength":"lots"}`, 400, "invalid_value", "strength", "not a number"},
		{remix, "alice-key", `{"prompt":"x","seed":"s"}`, 400, "invalid_value", "seed", "64-bit"},
		{remix, "alice-key", `{"prompt":"x","steps":3}`, 400, "invalid_value", "steps", "unknown field"},
		{ext, "bob-key", `{` + ref + `,"seconds":"2"}`, 404, "not_found", "video", v.ID},
		{ext, "alice-key", `{` + ref + `,"seconds":"2"}`, 409, "video_not_completed", "video", "only a completed video can be extended"},
		{ext, "alice-key", `{"seconds":"2"}`, 400, "invalid_value", "video", "required"},
		{ext, "alice-key", `{"video":"[1]","seconds":"2"}`, 404, "not_found", "video", "not found"},
		{ext, "alice-key", `{` + ref + `}`, 400, "invalid_value", "seconds", "required"},
		{ext, "alice-key", `{` + ref + `,"seconds":"3"}`, 400, "invalid_value", "seconds", "2-second chunks"},
		{ext, "alice-key", `{` + ref + `,"frames":20}`, 400, "invalid_value", "frames", "multiple of 16"},
		{ext, "alice-key", `{` + ref + `,"seconds":"2","strength":0.5}`, 400, "invalid_value", "strength", "unknown field"},
		{"/v1/videos/" + v.ID + "/replay", "bob-key", `{}`, 404, "not_found", "", v.ID},
		{"/v1/videos/" + v.ID + "/replay", "alice-key", `{"stage":"upscale"}`, 400, "invalid_value", "stage", "textenc, denoise"},
		{"/v1/videos/edits", "alice-key", `{"prompt":"x"}`, 501, "not_implemented", "", "remix"},
	}
	for _, c := range cases {
		r, data := e.call(t, "POST", c.path, c.key, strings.NewReader(c.body), nil, nil)
		wantErr(t, c.path+" "+c.body, c.status, data, r.StatusCode, c.code, c.param, c.says)
	}
	// None of them made a video, nor spent an Idempotency-Key.
	hdr := map[string]string{"Idempotency-Key": "once"}
	if r, _ := e.call(t, "POST", remix, "alice-key", strings.NewReader(`{"prompt":"x"}`), hdr, nil); r.StatusCode != 409 {
		t.Errorf("remix of a queued video with a key: %d", r.StatusCode)
	}
	var again api.Video
	if r, data := e.call(t, "POST", "/v1/videos", "alice-key", strings.NewReader(`{"prompt":"x"}`), hdr, &again); r.StatusCode != 200 || again.ID == v.ID || r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("Idempotency-Key of a refused remix is spent: %d %s", r.StatusCode, data)
	}
	e.listed(t, "alice-key", 2)
	var page struct {
		Data []api.Video `json:"data"`
	}
	e.call(t, "GET", "/v1/videos", "alice-key", nil, nil, &page)
	if len(page.Data) != 2 {
		t.Errorf("alice has %d videos, want 2 (no remix or extension was made)", len(page.Data))
	}
}

// Remix and extension through the API on a real pipeline: each child
// belongs to the parent's key (the other key gets a 404), names its parent,
// honours Idempotency-Key, and completes with the right length; a remix of
// an extension, an extension past the model's length and a parent whose
// latents aged out of the stream are refused; a replay re-runs a stage.
func TestRemixExtend(t *testing.T) {
	keys, err := api.NewKeys("alice-key", "bob-key")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Config{Keys: keys}, false)
	const alice = "alice-key"
	parent := e.create(t, alice, nil) // 16 frames, 2 steps
	e.wait(t, alice, parent.ID)

	hdr := map[string]string{"Idempotency-Key": "remix-1"}
	body := `{"prompt":"a red square moving up","strength":0.5,"seed":9}`
	var rx, rx2 api.Video
	if r, data := e.call(t, "POST", "/v1/videos/"+parent.ID+"/remix", alice, strings.NewReader(body), hdr, &rx); r.StatusCode != 200 {
		t.Fatalf("remix: %d %s", r.StatusCode, data)
	}
	r, _ := e.call(t, "POST", "/v1/videos/"+parent.ID+"/remix", alice, strings.NewReader(body), hdr, &rx2)
	if r.StatusCode != 200 || rx2.ID != rx.ID || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("remix again with the same Idempotency-Key: %d %s, first %s", r.StatusCode, rx2.ID, rx.ID)
	}
	src := rx.Reel.Settings.Source
	if rx.RemixedFromVideoID == nil || *rx.RemixedFromVideoID != parent.ID || rx.Reel.Derivation != api.DerivedRemix ||
		src == nil || src.Kind != protocol.SourceRemix || src.Strength != 0.5 || rx.Reel.Settings.Seed != 9 || *rx.Prompt != "a red square moving up" {
		t.Errorf("remix: %+v source %+v", rx, src)
	}

	// The extension as the SDK sends it: multipart with video[id].
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"video[id]": parent.ID, "prompt": "a blue square moving up", "seconds": "2"} {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	var ex api.Video
	if r, data := e.call(t, "POST", "/v1/videos/extensions", alice, &buf, map[string]string{"Content-Type": mw.FormDataContentType()}, &ex); r.StatusCode != 200 {
		t.Fatalf("extension: %d %s", r.StatusCode, data)
	}
	if ex.RemixedFromVideoID != nil || ex.Reel.ParentVideoID != parent.ID || ex.Reel.Derivation != api.DerivedExtension || ex.Seconds != "4" {
		t.Errorf("extension: %+v", ex)
	}

	// The children are alice's alone.
	for _, id := range []string{rx.ID, ex.ID} {
		if r, data := e.call(t, "GET", "/v1/videos/"+id, "bob-key", nil, nil, nil); r.StatusCode != 404 {
			t.Errorf("bob retrieves %s: %d %s", id, r.StatusCode, data)
		}
	}
	e.listed(t, alice, 3)

	for _, c := range []struct {
		v      api.Video
		frames int
	}{{rx, 16}, {ex, 32}} {
		got := e.wait(t, alice, c.v.ID)
		if got.Status != api.StatusCompleted || got.Reel.Frames != c.frames || got.Reel.ParentVideoID != parent.ID {
			t.Errorf("%s %s: %s, %d frames (want %d), parent %q; %+v", c.v.Reel.Derivation, c.v.ID, got.Status, got.Reel.Frames, c.frames, got.Reel.ParentVideoID, got.Error)
		}
	}

	// What does not fit is refused, naming the field.
	r, data := e.call(t, "POST", "/v1/videos/"+ex.ID+"/remix", alice, strings.NewReader(`{"prompt":"x"}`), nil, nil)
	wantErr(t, "remix of an extension", 409, data, r.StatusCode, "unsupported_parent", "video_id", "remix "+parent.ID)
	r, data = e.call(t, "POST", "/v1/videos/extensions", alice, strings.NewReader(`{"video":{"id":"`+ex.ID+`"},"seconds":"94"}`), nil, nil)
	wantErr(t, "extension past 96 s", 400, data, r.StatusCode, "invalid_value", "seconds", "at most 92 s (736 frames) more")

	// A parent whose latents aged out of the stream (purged here) cannot
	// be remixed or extended; the error names the subject.
	ctx := bustest.Ctx(t, 10*time.Second)
	lat := protocol.LatentSubject(parent.ID, 0)
	if err := e.b.Stream.Purge(ctx, jetstream.WithPurgeSubject(lat)); err != nil {
		t.Fatal(err)
	}
	r, data = e.call(t, "POST", "/v1/videos/"+parent.ID+"/remix", alice, strings.NewReader(`{"prompt":"x"}`), nil, nil)
	wantErr(t, "remix of aged-out latents", 409, data, r.StatusCode, "latents_expired", "video_id", lat)
	r, data = e.call(t, "POST", "/v1/videos/extensions", alice, strings.NewReader(`{"video":"`+parent.ID+`","frames":16}`), nil, nil)
	wantErr(t, "extension of aged-out latents", 409, data, r.StatusCode, "latents_expired", "video", lat)
	r, data = e.call(t, "POST", "/v1/videos/"+parent.ID+"/replay", alice, strings.NewReader(`{"stage":"vaedecode"}`), nil, nil)
	wantErr(t, "replay of aged-out latents", 409, data, r.StatusCode, "input_expired", "video_id", lat)

	// A replay from the frames (still there) re-encodes them.
	var rp api.Video
	if r, data := e.call(t, "POST", "/v1/videos/"+parent.ID+"/replay", alice, strings.NewReader(`{"stage":"encode","crf":30}`), nil, &rp); r.StatusCode != 200 {
		t.Fatalf("replay: %d %s", r.StatusCode, data)
	}
	got := e.wait(t, alice, rp.ID)
	if got.Status != api.StatusCompleted || got.Reel.Derivation != api.DerivedReplay || got.Reel.ReplayFrom != protocol.StageEncode ||
		got.Reel.Settings.CRF != 30 || got.RemixedFromVideoID != nil {
		t.Errorf("replay: %+v", got)
	}
	r, data = e.call(t, "POST", "/v1/videos/"+parent.ID+"/replay", alice, strings.NewReader(`{"stage":"encode","steps":3}`), nil, nil)
	wantErr(t, "replay changing steps at encode", 400, data, r.StatusCode, "invalid_value", "steps", "cannot be changed")
}
