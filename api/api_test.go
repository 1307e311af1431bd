package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/api"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
)

// A video's whole life through the API on a real pipeline: JSON create
// with an Idempotency-Key (a repeat returns the same video), events as SSE
// until it succeeds, the MP4 with a range request, poster and GIF, then a
// delete that leaves no record, blob, stage message or event behind.
func TestVideoLifecycle(t *testing.T) {
	e := newEnv(t, api.Config{}, false)
	idem := map[string]string{"Idempotency-Key": "req-1"}
	v := e.create(t, "", idem)
	if again := e.create(t, "", idem); again.ID != v.ID {
		t.Fatalf("Idempotency-Key: second create made %s, first %s", again.ID, v.ID)
	}
	if other := e.create(t, "", map[string]string{"Idempotency-Key": "req-2"}); other.ID == v.ID {
		t.Fatal("another Idempotency-Key returned the same video")
	}
	if v.Object != "video" || v.Status != api.StatusQueued || v.Seconds != "2" || v.Size != "64x64" || v.Model != "reel-tiny" {
		t.Fatalf("created: %+v", v)
	}

	// Server-Sent Events: every event from the first, ending on success.
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/videos/"+v.ID+"/events", nil)
	resp, err := http.DefaultClient.Do(req.WithContext(bustest.Ctx(t, 2*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events content type %q", ct)
	}
	var kinds []string
	var last struct {
		Video api.Video `json:"video"`
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "event: "); ok {
			kinds = append(kinds, k)
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			if err := json.Unmarshal([]byte(d), &last); err != nil {
				t.Fatalf("event data %q: %v", d, err)
			}
		}
	}
	resp.Body.Close()
	joined := strings.Join(kinds, ",")
	for _, want := range []string{protocol.EventSubmitted, protocol.EventStep, protocol.EventChunk, protocol.EventSucceeded} {
		if !strings.Contains(joined, want) {
			t.Errorf("events %s lack %s", joined, want)
		}
	}
	if kinds[len(kinds)-1] != protocol.EventSucceeded || last.Video.Status != api.StatusCompleted || last.Video.Progress != 100 {
		t.Errorf("stream ended with %s, video %s %d%%", kinds[len(kinds)-1], last.Video.Status, last.Video.Progress)
	}

	got := e.wait(t, "", v.ID)
	if got.CompletedAt == nil || got.Reel.Frames != 16 {
		t.Fatalf("completed: %+v", got)
	}
	// Range requests (browsers seek with them).
	full, body := e.call(t, "GET", "/v1/videos/"+v.ID+"/content", "", nil, nil, nil)
	part, head := e.call(t, "GET", "/v1/videos/"+v.ID+"/content?variant=video", "", nil, map[string]string{"Range": "bytes=0-99"}, nil)
	if full.StatusCode != 200 || full.Header.Get("Content-Type") != "video/mp4" || full.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("content: %d %v", full.StatusCode, full.Header)
	}
	if part.StatusCode != http.StatusPartialContent || !bytes.Equal(head, body[:100]) {
		t.Fatalf("range: %d, %d bytes", part.StatusCode, len(head))
	}
	if !bytes.Equal(body[4:8], []byte("ftyp")) {
		t.Fatalf("not an MP4: % x", body[:8])
	}
	for variant, magic := range map[string]string{"thumbnail": "\x89PNG", "spritesheet": "GIF8"} {
		r, data := e.call(t, "GET", "/v1/videos/"+v.ID+"/content?variant="+variant, "", nil, nil, nil)
		if r.StatusCode != 200 || !bytes.HasPrefix(data, []byte(magic)) {
			t.Errorf("%s: %d %q", variant, r.StatusCode, data[:min(8, len(data))])
		}
	}
	r, data := e.call(t, "GET", "/v1/videos/"+v.ID+"/content?variant=poster", "", nil, nil, nil)
	if eb := decodeErr(t, data); r.StatusCode != 400 || *eb.Error.Param != "variant" {
		t.Errorf("bad variant: %d %s", r.StatusCode, data)
	}

	// Delete removes everything the job left on the bus.
	var del struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Deleted bool   `json:"deleted"`
	}
	if r, data := e.call(t, "DELETE", "/v1/videos/"+v.ID, "", nil, nil, &del); r.StatusCode != 200 || !del.Deleted || del.Object != "video.deleted" {
		t.Fatalf("delete: %d %s", r.StatusCode, data)
	}
	ctx := bustest.Ctx(t, 10*time.Second)
	for _, subj := range []string{"reel.*." + v.ID, "reel.*." + v.ID + ".*"} {
		info, err := e.b.Stream.Info(ctx, jetstream.WithSubjectFilter(subj))
		if err != nil {
			t.Fatal(err)
		}
		if len(info.State.Subjects) != 0 {
			t.Errorf("stream REEL still holds %v", info.State.Subjects)
		}
	}
	if info, err := e.b.Events.Info(ctx, jetstream.WithSubjectFilter(protocol.EventSubject(v.ID))); err != nil || len(info.State.Subjects) != 0 {
		t.Errorf("events left: %v %v", info.State.Subjects, err)
	}
	for _, name := range []string{protocol.VideoObject(v.ID), protocol.PosterObject(v.ID), protocol.GIFObject(v.ID)} {
		if _, err := e.b.Blobs.GetInfo(ctx, name); err == nil {
			t.Errorf("blob %s still stored", name)
		}
	}
	if _, err := e.b.Jobs.Get(ctx, v.ID); err == nil {
		t.Error("job record still stored")
	}
	if r, data := e.call(t, "GET", "/v1/videos/"+v.ID, "", nil, nil, nil); r.StatusCode != 404 || decodeErr(t, data).Error.Type != "invalid_request_error" {
		t.Errorf("retrieve after delete: %d %s", r.StatusCode, data)
	}
}

// Keys: no key or a wrong key is a 401; another key's video is a 404 on
// every endpoint and missing from its list.
func TestKeysSeparateOwners(t *testing.T) {
	keys, err := api.NewKeys("alice-key", "bob-key")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Config{Keys: keys}, true)
	v := e.create(t, "alice-key", nil)
	for _, c := range []struct {
		key, code string
		status    int
	}{{"", "missing_api_key", 401}, {"mallory", "invalid_api_key", 401}, {"bob-key", "not_found", 404}} {
		for _, ep := range []struct{ method, path string }{
			{"GET", "/v1/videos/" + v.ID}, {"GET", "/v1/videos/" + v.ID + "/content"},
			{"GET", "/v1/videos/" + v.ID + "/events"}, {"POST", "/v1/videos/" + v.ID + "/cancel"},
			{"DELETE", "/v1/videos/" + v.ID},
		} {
			r, data := e.call(t, ep.method, ep.path, c.key, nil, nil, nil)
			if r.StatusCode != c.status || *decodeErr(t, data).Error.Code != c.code {
				t.Errorf("key %q %s %s: %d %s, want %d %s", c.key, ep.method, ep.path, r.StatusCode, data, c.status, c.code)
			}
		}
	}
	e.listed(t, "alice-key", 1)
	var page struct {
		Data []api.Video `json:"data"`
	}
	e.call(t, "GET", "/v1/videos", "bob-key", nil, nil, &page)
	if len(page.Data) != 0 {
		t.Errorf("bob lists %d videos", len(page.Data))
	}
	e.call(t, "GET", "/v1/videos", "alice-key", nil, nil, &page)
	if len(page.Data) != 1 || page.Data[0].ID != v.ID {
		t.Errorf("alice lists %+v", page.Data)
	}
	// The same Idempotency-Key of two owners names two videos.
	a := e.create(t, "alice-key", map[string]string{"Idempotency-Key": "k"})
	b := e.create(t, "bob-key", map[string]string{"Idempotency-Key": "k"})
	if a.ID == b.ID {
		t.Error("one Idempotency-Key shared across keys")
	}
	// Alice still sees hers (the job is queued: no stages run here).
	if r, _ := e.call(t, "POST", "/v1/videos/"+v.ID+"/cancel", "alice-key", nil, nil, nil); r.StatusCode != 200 {
		t.Errorf("owner cancel: %d", r.StatusCode)
	}
}

// Requests the model cannot do are 400s naming the field (never a queued
// job that fails later); JSON and multipart forms parse alike.
func TestCreateRefuses(t *testing.T) {
	e := newEnv(t, api.Config{MaxBodyBytes: 8 << 10}, true)
	cases := []struct {
		body, param, says string
		status            int
	}{
		{`{"prompt":"x","size":"1280x720"}`, "size", "supported: 64x64", 400},
		{`{"prompt":"x","seconds":"3"}`, "seconds", "2, 4, 6, 8, ... 96", 400},
		{`{"prompt":"x","seconds":98}`, "seconds", "up to 96", 400},
		{`{"prompt":"x","model":"sora-2"}`, "model", "supported: reel-tiny", 400},
		{`{"prompt":""}`, "prompt", "empty", 400},
		{`{"prompt":"` + strings.Repeat("a", protocol.MaxPromptBytes+1) + `"}`, "prompt", "limit is 2048", 400},
		{`{"prompt":"x","negative_prompt":"` + strings.Repeat("a", protocol.MaxPromptBytes+1) + `"}`, "negative_prompt", "limit", 400},
		{`{"prompt":"x","steps":0}`, "steps", "outside 1..200", 400},
		{`{"prompt":"x","steps":"many"}`, "steps", "not an integer", 400},
		{`{"prompt":"x","frames":20}`, "frames", "multiple of 16", 400},
		{`{"prompt":"x","frames":32,"seconds":"2"}`, "seconds", "frames is 32", 400},
		{`{"prompt":"x","colour":"red"}`, "colour", "unknown field", 400},
		{`{"prompt":"` + strings.Repeat("a", 9<<10) + `"}`, "", "over 8192 bytes", 413},
	}
	for _, c := range cases {
		r, data := e.call(t, "POST", "/v1/videos", "", strings.NewReader(c.body), nil, nil)
		eb := decodeErr(t, data)
		param := ""
		if eb.Error.Param != nil {
			param = *eb.Error.Param
		}
		if r.StatusCode != c.status || param != c.param || !strings.Contains(eb.Error.Message, c.says) {
			t.Errorf("%.60s: %d param %q %q; want %d %q containing %q", c.body, r.StatusCode, param, eb.Error.Message, c.status, c.param, c.says)
		}
	}
	// Multipart, as the SDKs send it, with reel's own fields.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"prompt": "a green circle", "seconds": "4", "size": "64x64", "steps": "3", "seed": "-9", "guidance": "2.5", "shift": "1.5", "negative_prompt": "blur"} {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	var v api.Video
	r, data := e.call(t, "POST", "/v1/videos", "", &buf, map[string]string{"Content-Type": mw.FormDataContentType()}, &v)
	if r.StatusCode != 200 {
		t.Fatalf("multipart: %d %s", r.StatusCode, data)
	}
	s := v.Reel.Settings
	if v.Seconds != "4" || s.Frames != 32 || s.Steps != 3 || s.Seed != -9 || s.Guidance != 2.5 || s.Shift != 1.5 || v.Reel.NegativePrompt != "blur" {
		t.Errorf("multipart settings: %+v %+v", v, s)
	}
}

// The per-key rate limit answers 429 with Retry-After once the burst is spent.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, api.Config{RateLimit: 0.5, Burst: 3}, true)
	codes := []int{}
	var retry string
	for range 5 {
		r, _ := e.call(t, "GET", "/v1/videos", "", nil, nil, nil)
		codes = append(codes, r.StatusCode)
		if r.StatusCode == 429 {
			retry = r.Header.Get("Retry-After")
		}
	}
	if codes[0] != 200 || codes[2] != 200 || codes[3] != 429 || codes[4] != 429 || retry == "" {
		t.Errorf("codes %v, Retry-After %q", codes, retry)
	}
}

// Listing pages with after/limit/order as OpenAI's cursor pages do.
func TestListPages(t *testing.T) {
	e := newEnv(t, api.Config{}, true)
	var ids []string
	for range 3 {
		ids = append(ids, e.create(t, "", nil).ID)
	}
	e.listed(t, "", 3)
	type page struct {
		Data    []api.Video `json:"data"`
		HasMore bool        `json:"has_more"`
		FirstID *string     `json:"first_id"`
		LastID  *string     `json:"last_id"`
		Object  string      `json:"object"`
	}
	var p page
	e.call(t, "GET", "/v1/videos?limit=2&order=asc", "", nil, nil, &p)
	if p.Object != "list" || len(p.Data) != 2 || !p.HasMore || p.Data[0].ID != ids[0] || *p.LastID != ids[1] {
		t.Fatalf("asc page 1: %+v", p)
	}
	var p2 page
	e.call(t, "GET", "/v1/videos?limit=2&order=asc&after="+*p.LastID, "", nil, nil, &p2)
	if len(p2.Data) != 1 || p2.HasMore || p2.Data[0].ID != ids[2] {
		t.Fatalf("asc page 2: %+v", p2)
	}
	var d page
	e.call(t, "GET", "/v1/videos", "", nil, nil, &d)
	if len(d.Data) != 3 || d.Data[0].ID != ids[2] {
		t.Fatalf("desc: %+v", d)
	}
}

// Binding beyond loopback needs a key.
func TestCheckBind(t *testing.T) {
	keys, _ := api.NewKeys("k")
	for _, c := range []struct {
		addr string
		keys *api.Keys
		ok   bool
	}{
		{"127.0.0.1:8080", nil, true}, {"localhost:0", nil, true}, {"[::1]:80", nil, true},
		{"0.0.0.0:8080", nil, false}, {":8080", nil, false}, {"10.1.2.3:80", nil, false},
		{"0.0.0.0:8080", keys, true},
	} {
		err := api.CheckBind(c.addr, c.keys)
		if (err == nil) != c.ok {
			t.Errorf("%s keys=%d: %v", c.addr, c.keys.Len(), err)
		}
	}
	s, err := api.New(api.Config{Backend: nil})
	if err == nil || s != nil {
		t.Error("New without backend")
	}
}
