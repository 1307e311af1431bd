package pipeline_test

import (
	"context"
	"slices"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/runner"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/stagetest"
)

// A stage without an engine (encode) is told the model the process's
// engines serve: encode starts its spare ffmpeg for that frame size before
// the first job, so that job does not wait for ffmpeg to start. Without
// engines it is told nothing, and a stage that needs one is refused.
func TestStageWithoutEngineIsToldTheModel(t *testing.T) {
	eng := stagetest.Engine(t)
	es, err := pipeline.StartEngines(context.Background(), pipeline.EngineConfig{Go: eng},
		[]string{protocol.StageTextEnc, protocol.StageEncode})
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	depsOf := func(o pipeline.Options, model protocol.Model) (stages.Deps, error) {
		var got stages.Deps
		d := stages.Descriptor{New: func(d stages.Deps) (stages.Handler, error) { got = d; return nil, nil }}
		d.Name, d.Model = protocol.StageEncode, model
		_, err := pipeline.Handler(d, o)
		return got, err
	}

	d, err := depsOf(pipeline.Options{Engines: es}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := eng.Manifest()
	if d.Engine != nil {
		t.Errorf("encode was given an engine: %T", d.Engine)
	}
	if d.Manifest.Model != want.Model || d.Manifest.Width != want.Width || d.Manifest.Height != want.Height || d.Manifest.FPS != want.FPS {
		t.Errorf("encode was told model %q %dx%d at %d fps, the engines serve %q %dx%d at %d fps",
			d.Manifest.Model, d.Manifest.Width, d.Manifest.Height, d.Manifest.FPS, want.Model, want.Width, want.Height, want.FPS)
	}

	if d, err = depsOf(pipeline.Options{}, ""); err != nil || d.Manifest.Width != 0 {
		t.Errorf("without engines: manifest %+v, err %v; want none, nil", d.Manifest, err)
	}
	if _, err := depsOf(pipeline.Options{}, protocol.ModelVAE); err == nil {
		t.Error("a stage that needs an engine was built without one")
	}
}

// An engine loads the models of the stages it serves, no more: a process
// running vaedecode alone does not hold the DiT or the text encoder, and
// its manifest (what its memory estimates and heartbeats report) counts the
// VAE only. One engine serving several stages loads each of their models.
func TestEnginesLoadTheirStagesModels(t *testing.T) {
	for _, tc := range []struct {
		stages []string
		want   []protocol.Model
	}{
		{[]string{protocol.StageVAEDecode}, []protocol.Model{protocol.ModelVAE}},
		{[]string{protocol.StageTextEnc, protocol.StageEncode}, []protocol.Model{protocol.ModelText}},
		{[]string{protocol.StageDenoise, protocol.StageVAEDecode}, []protocol.Model{protocol.ModelDiT, protocol.ModelVAE}},
		{protocol.Stages(), protocol.Models()},
	} {
		es, err := pipeline.StartEngines(context.Background(), pipeline.EngineConfig{}, tc.stages)
		if err != nil {
			t.Fatalf("%v: %v", tc.stages, err)
		}
		m := es.Model()
		got := map[protocol.Model]int64{protocol.ModelText: m.Resident.Text, protocol.ModelDiT: m.Resident.DiT, protocol.ModelVAE: m.Resident.VAE}
		for model, n := range got {
			if loaded := slices.Contains(tc.want, model); loaded != (n > 0) {
				t.Errorf("stages %v: the %s model holds %d bytes, want it loaded: %v", tc.stages, model, n, loaded)
			}
		}
		_ = es.Close()
	}
}

// Only a torch runner with no device given waits for the placement; the Go
// engine and exec runners load while the GPU probe runs.
func TestEngineConfigNeedsDevice(t *testing.T) {
	goS, torch := runner.Spec{Kind: runner.KindGo}, runner.Spec{Kind: runner.KindTorch}
	exec := runner.Spec{Kind: runner.KindExec, Command: []string{"/opt/r"}}
	for _, tc := range []struct {
		name   string
		cfg    pipeline.EngineConfig
		expect bool
	}{
		{"no specs", pipeline.EngineConfig{}, false},
		{"go", pipeline.EngineConfig{Specs: map[string]runner.Spec{protocol.StageDenoise: goS}}, false},
		{"exec", pipeline.EngineConfig{Specs: map[string]runner.Spec{protocol.StageDenoise: exec}}, false},
		{"torch for one stage", pipeline.EngineConfig{Specs: map[string]runner.Spec{
			protocol.StageTextEnc: goS, protocol.StageVAEDecode: torch}}, true},
		{"torch on a given device", pipeline.EngineConfig{Specs: map[string]runner.Spec{
			protocol.StageVAEDecode: torch}, Device: "cpu"}, false},
	} {
		if got := tc.cfg.NeedsDevice(); got != tc.expect {
			t.Errorf("%s: NeedsDevice() = %v, want %v", tc.name, got, tc.expect)
		}
	}
}
