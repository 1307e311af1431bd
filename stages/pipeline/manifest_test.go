package pipeline_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/worker"
)

// A second model manifest, reel-tiny's weights run at 96×64 and 12 fps
// (model.Options, nothing else changes), flows through all four stages
// beside the built-in 64×64 one on the same bus: a job naming it is left by
// the 64×64 workers to the ones that serve it and yields a video of its own
// frame size and fps; a job naming none runs on whichever model's textenc
// takes it first, and one naming reel-tiny stays 64×64 at 8 fps.
func TestSecondModelManifestFlowsThroughAllStages(t *testing.T) {
	wide, err := model.Load(model.Options{Width: 96, Height: 64, FPS: 12})
	if err != nil {
		t.Fatal(err)
	}
	m := wide.Manifest()
	if m.Model != "reel-tiny@96x64" || m.LatentWidth != 12 || m.LatentHeight != 8 || m.FPS != 12 {
		t.Fatalf("manifest: %s latent %dx%d fps %d", m.Model, m.LatentWidth, m.LatentHeight, m.FPS)
	}
	_, b := bustest.Start(t, bustest.Options{})
	store := orchestrator.NewStore(b, bustest.Logger(t))
	// The built-in model on every stage (encode needs no model) ...
	run(t, b, pipeline.Options{DeadLetters: true, Stages: all(1)})
	// ... and the 96×64 one on the three model stages.
	run(t, b, pipeline.Options{Engine: pipeline.GoEngine(wide),
		Stages: map[string]int{protocol.StageTextEnc: 1, protocol.StageDenoise: 1, protocol.StageVAEDecode: 1}})

	heartbeats(t, b, protocol.StageVAEDecode, "both models up", func(ws []worker.WorkerInfo) bool { return len(ws) == 2 })

	for _, tc := range []struct {
		model string
		want  bustest.Probe
	}{
		{"reel-tiny@96x64", bustest.Probe{Codec: "h264", PixFmt: "yuv420p", Size: "96x64", Rate: "12/1", Frames: "16"}},
		{"reel-tiny", bustest.Probe{Codec: "h264", PixFmt: "yuv420p", Size: "64x64", Rate: "8/1", Frames: "16"}},
	} {
		t.Run(tc.model, func(t *testing.T) {
			set := small()
			set.Model = tc.model
			j := submitWait(t, store, "a red circle moving right", set)
			if j.State != protocol.StateSucceeded || j.Video == nil {
				t.Fatalf("job %s: %s %q", j.ID, j.State, j.Error)
			}
			mp4, err := b.GetBlob(bustest.Ctx(t, time.Minute), j.Video.Object)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "out.mp4")
			if err := os.WriteFile(path, mp4, 0o644); err != nil {
				t.Fatal(err)
			}
			if p := bustest.FFprobe(t, path); p != tc.want {
				t.Errorf("ffprobe: %+v, want %+v", p, tc.want)
			}
		})
	}
}
