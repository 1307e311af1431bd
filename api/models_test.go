package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/api"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages/worker"
)

// Create requests are checked against what the live denoise workers
// advertise, not only the API process's own engine: with a runner worker
// that samples one 48-frame window the only denoise worker, a 12-second video
// is refused at create naming the limit, and /v1/models says 48 frames;
// once the worker is gone, the configured model applies again.
func TestCreateFollowsTheWorkersManifests(t *testing.T) {
	e := newEnv(t, api.Config{}, true)
	ctx := bustest.Ctx(t, 30*time.Second)
	m := engine(t).Manifest()
	m.MaxFrames = 48
	hb, err := json.Marshal(worker.WorkerInfo{Worker: "torch-1", Stage: protocol.StageDenoise, Manifest: &m, Engine: "torch", Seen: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Workers.Put(ctx, protocol.StageDenoise+".torch-1", hb); err != nil {
		t.Fatal(err)
	}
	body := `{"prompt":"a red circle moving right","seconds":"12"}`
	r, data := e.call(t, "POST", "/v1/videos", "", strings.NewReader(body), nil, nil)
	if eb := decodeErr(t, data); r.StatusCode != 400 || eb.Error.Param == nil || *eb.Error.Param != "seconds" || !strings.Contains(eb.Error.Message, "up to 6") {
		t.Fatalf("12 s with a 48-frame denoise worker: %d %s", r.StatusCode, data)
	}
	var models struct {
		Data []struct {
			ID       string            `json:"id"`
			Manifest protocol.Manifest `json:"reel_manifest"`
		} `json:"data"`
	}
	if r, data := e.call(t, "GET", "/v1/models", "", nil, nil, &models); r.StatusCode != 200 || len(models.Data) != 1 || models.Data[0].Manifest.MaxFrames != 48 {
		t.Fatalf("/v1/models with a 48-frame denoise worker: %d %s", r.StatusCode, data)
	}
	if err := e.b.Workers.Delete(ctx, protocol.StageDenoise+".torch-1"); err != nil {
		t.Fatal(err)
	}
	var v api.Video
	if r, data := e.call(t, "POST", "/v1/videos", "", strings.NewReader(body), nil, &v); r.StatusCode != 200 || v.Reel.Settings.Frames != 96 {
		t.Fatalf("12 s with no denoise worker advertising: %d %s", r.StatusCode, data)
	}
}
