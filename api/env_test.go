package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/api"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/pipeline/pipelinetest"
	"github.com/reel-video/reel/stages/stagetest/fixture"
)

// engine is the Go engine on the built-in weights, loaded once per test
// binary (fixture.Engine).
func engine(t *testing.T) *model.Engine { return fixture.Engine(t) }

// env is a real bus with every stage running and the API in front of it.
type env struct {
	b   *bus.Bus
	srv *httptest.Server
}

// newEnv starts the bus, the stages (unless bare) and the API with cfg's
// keys and limits.
func newEnv(t *testing.T, cfg api.Config, bare bool) *env {
	t.Helper()
	_, b := bustest.Start(t, bustest.Options{})
	serve(t, b, bare)
	ctx := bustest.Ctx(t, 30*time.Second)
	backend, err := api.NewBusBackend(ctx, b, orchestrator.NewStore(b, bustest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Backend, cfg.Models, cfg.Log = backend, []protocol.Manifest{engine(t).Manifest()}, bustest.Logger(t)
	s, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{b: b, srv: srv}
}

// serve runs every stage, or with bare none: only what every deployment
// has somewhere, the record projector and the dead-letter handler.
func serve(t *testing.T, b *bus.Bus, bare bool) {
	t.Helper()
	st := map[string]int{protocol.StageTextEnc: 1, protocol.StageDenoise: 1, protocol.StageVAEDecode: 1, protocol.StageEncode: 1}
	if bare {
		st = nil
	}
	pipelinetest.Serve(t, pipeline.Options{
		Bus: b, Engine: pipeline.GoEngine(engine(t)), DeadLetters: true, Stages: st,
		Output: stages.OutputDefaults{WorkDir: t.TempDir()},
		Log:    bustest.Logger(t),
	})
}

// call makes a request with an optional key and decodes a JSON answer
// into out (when non-nil); it returns the response with its body read.
func (e *env) call(t *testing.T, method, path, key string, body io.Reader, hdr map[string]string, out any) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
	return resp, data
}

// errBody is OpenAI's error shape.
type errBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func decodeErr(t *testing.T, data []byte) errBody {
	t.Helper()
	var e errBody
	if err := json.Unmarshal(data, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an OpenAI error: %s (%v)", data, err)
	}
	return e
}

// create posts a small video request.
func (e *env) create(t *testing.T, key string, hdr map[string]string) api.Video {
	t.Helper()
	var v api.Video
	resp, data := e.call(t, "POST", "/v1/videos", key,
		strings.NewReader(`{"prompt":"a blue square moving up","seconds":2,"steps":2,"seed":5}`), hdr, &v)
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, data)
	}
	return v
}

// wait polls until the video ends.
func (e *env) wait(t *testing.T, key, id string) api.Video {
	t.Helper()
	ctx := bustest.Ctx(t, 2*time.Minute)
	for {
		var v api.Video
		resp, data := e.call(t, "GET", "/v1/videos/"+id, key, nil, nil, &v)
		if resp.StatusCode != 200 {
			t.Fatalf("retrieve: %d %s", resp.StatusCode, data)
		}
		if v.Status == api.StatusCompleted || v.Status == api.StatusFailed {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("video %s still %s", id, v.Status)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// listed waits until the key's list shows n videos: the list reads job
// records, which the projector writes a moment after each create.
func (e *env) listed(t *testing.T, key string, n int) {
	t.Helper()
	ctx := bustest.Ctx(t, 30*time.Second)
	for {
		var page struct {
			Data []api.Video `json:"data"`
		}
		e.call(t, "GET", "/v1/videos?limit=100", key, nil, nil, &page)
		if len(page.Data) >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("list shows %d videos, want %d", len(page.Data), n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
