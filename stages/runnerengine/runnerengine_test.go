package runnerengine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/tooltest"
	"github.com/reel-video/reel/runner"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
	"github.com/reel-video/reel/stages/runnerengine"
	"github.com/reel-video/reel/stages/stagemem"
	"github.com/reel-video/reel/stages/stagetest/fixture"
	"github.com/reel-video/reel/stages/textenc"
	"github.com/reel-video/reel/stages/vaedecode"
)

const python = tooltest.Python

// fake starts runner/testdata/fakerunner.py with the given --fail flags.
func fake(t *testing.T, fail ...string) *runnerengine.Engine {
	t.Helper()
	tooltest.NeedPython(t, "msgpack")
	script, err := filepath.Abs("../../runner/testdata/fakerunner.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := []string{python, script}
	for _, f := range fail {
		cmd = append(cmd, "--fail", f)
	}
	r, err := runner.Start(context.Background(), runner.Config{Command: cmd, HelloTimeout: 30 * time.Second,
		Log: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return runnerengine.New(r, "exec:fakerunner.py")
}

// handle runs the stage's real handler (built from its descriptor on the
// adapter) on one input message of the in-memory bus.
func handle(t *testing.T, e *runnerengine.Engine, d stages.Descriptor, subject string, env *protocol.Envelope) (*stagemem.Bus, error) {
	t.Helper()
	h, err := d.New(stages.Deps{Engine: e, Manifest: e.Manifest()})
	if err != nil {
		t.Fatal(err)
	}
	b := stagemem.New()
	if _, err := b.Publish(t.Context(), subject, env); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = b.Handle(ctx, h, subject, stagemem.Options{})
	return b, err
}

func latentMsg(t *testing.T, job string) *protocol.Envelope {
	set := fixture.Settings(1, 1)
	return fixture.Envelope(t, job, protocol.StageDenoise, set, 0, 1,
		protocol.LatentBody{Latent: protocol.F32Tensor(make([]float32, 8*4*8*8), 8, 4, 8, 8)})
}

// The runner's error kinds become the stage runner's outcomes: bad input
// and protocol violations fail the job, out of memory leaves the message
// for another worker, a crash or a transient error is retried; each says
// what the runner said.
func TestErrorsMapToOutcomes(t *testing.T) {
	for _, tc := range []struct {
		mode                 string
		permanent, elsewhere bool
		says                 []string
	}{
		{"bad_input", true, false, []string{"engine exec:fakerunner.py: decode_chunk", "fake bad_input on decode_chunk"}},
		{"garbage", true, false, []string{"protocol violation", "Traceback (most recent"}},
		{"oom", false, true, []string{"retry later", "oom: fake oom on decode_chunk"}},
		{"transient", false, false, []string{"transient", "fake transient"}},
		{"crash", false, false, []string{"exit status 3", "fake runner crashing on decode_chunk"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			e := fake(t, "decode_chunk="+tc.mode)
			b, err := handle(t, e, vaedecode.Descriptor(), protocol.LatentSubject("j1", 0), latentMsg(t, "j1"))
			if err == nil {
				t.Fatal("handler succeeded")
			}
			t.Log(err)
			if stages.IsPermanent(err) != tc.permanent || stages.IsRetryLater(err) != tc.elsewhere {
				t.Errorf("permanent %v, retry elsewhere %v; want %v, %v", stages.IsPermanent(err), stages.IsRetryLater(err), tc.permanent, tc.elsewhere)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q", s)
				}
			}
			if b.Has(protocol.FramesSubject("j1", 0)) {
				t.Error("frames published despite the error")
			}
		})
	}
}

// A runner serving fewer frames than the job asks refuses it before the
// runner is asked, naming the manifest's limit; a job within it is sampled;
// a runner whose sample takes no guide serves plain one-window jobs and
// refuses an extension or a remix permanently, saying why.
func TestSampleChecksTheManifest(t *testing.T) {
	e := fake(t)
	text := denoise.Text{Hidden: make([]float32, 96*256), Mask: make([]bool, 96)}
	sample := func(p denoise.Params) (int, error) {
		n := 0
		err := e.SampleWindows(t.Context(), text, text, p, func(i int, lat []float32) error {
			if i != n || len(lat) != 8*4*8*8 {
				t.Fatalf("chunk %d of %d values after %d", i, len(lat), n)
			}
			n++
			return nil
		}, nil)
		return n, err
	}
	_, err := sample(denoise.Params{Frames: 96, Steps: 2, Guidance: 5, Shift: 3})
	if !stages.IsPermanent(err) || !strings.Contains(err.Error(), "engine exec:fakerunner.py: frames: 96 is not a positive multiple of 16 up to 48") {
		t.Fatalf("96 frames on a 48-frame runner: %v", err)
	}
	if n, err := sample(denoise.Params{Frames: 48, Steps: 2, Guidance: 5, Shift: 3, Seed: 1}); err != nil || n != 3 {
		t.Fatalf("48 frames: %d chunks, %v", n, err)
	}
	remix := denoise.Params{Frames: 48, Steps: 2, Guidance: 5, Shift: 3, Seed: 1, Init: make([]float32, 8*12*8*8), Strength: 0.5}
	if _, err := sample(remix); !stages.IsPermanent(err) || !errors.Is(err, runner.ErrNoGuide) {
		t.Fatalf("a remix on a runner without guides: %v", err)
	}
}

// The runner's log lines carry the job of the call (runner.WithJob), and a
// handler built on the adapter publishes the stage's outputs.
func TestTextEncHandlerOnRunner(t *testing.T) {
	e := fake(t)
	set := fixture.Settings(1, 1)
	env := fixture.Envelope(t, "j2", "", set, 0, 0, fixture.Prompt())
	b := stagemem.New()
	if _, err := b.Publish(t.Context(), protocol.PromptSubject("j2"), env); err != nil {
		t.Fatal(err)
	}
	h, err := textenc.Descriptor().New(stages.Deps{Engine: e, Manifest: e.Manifest()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Handle(runner.WithJob(t.Context(), "j2"), h, protocol.PromptSubject("j2"), stagemem.Options{}); err != nil {
		t.Fatal(err)
	}
	if !b.Has(protocol.TextSubject("j2")) {
		t.Fatal("no text embedding published")
	}
}

func TestGeometryDiff(t *testing.T) {
	a := fixture.Deps(t).Manifest
	if d := runnerengine.GeometryDiff(a, a); d != "" {
		t.Errorf("same manifest: %q", d)
	}
	b := a
	b.Width, b.LatentWidth = 96, 12
	if d := runnerengine.GeometryDiff(a, b); d != "latent_width 8 vs 12, width 64 vs 96" {
		t.Errorf("diff %q", d)
	}
}
