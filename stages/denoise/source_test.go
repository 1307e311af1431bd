package denoise_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/stagemem"
	"github.com/reel-video/reel/stages/stagetest/fixture"
)

// withParent is a bus holding job "p1"'s latent chunks (the engine's for
// set), except those in missing, and the child's text message.
func withParent(t *testing.T, child string, set, childSet protocol.Settings, missing ...int) (*stagemem.Bus, [][]float32) {
	t.Helper()
	b := textInput(t, child, childSet, fixture.Text(t, fixture.Prompt()))
	lat := fixture.Latents(t, fixture.Prompt(), set)
	for i, l := range lat {
		if slices.Contains(missing, i) {
			continue
		}
		env := fixture.Envelope(t, "p1", protocol.StageDenoise, set, i, len(lat), protocol.LatentBody{Latent: protocol.F32Tensor(l, 8, 4, 8, 8)})
		if _, err := b.Publish(t.Context(), protocol.LatentSubject("p1", i), env); err != nil {
			t.Fatal(err)
		}
	}
	return b, lat
}

// An extension of a 3-chunk parent by 2 chunks publishes only chunks 3 and
// 4 (of 5): the engine's windowed sample of a 4-chunk video whose first two
// chunks are the parent's last two (the default overlap), new chunks
// mapped to their place.
func TestHandlerExtension(t *testing.T) {
	h := newHandler(t)
	parentSet := fixture.Settings(3, 2)
	set := fixture.Settings(5, 2)
	set.Source = &protocol.Source{Kind: protocol.SourceExtend, Job: "p1", Chunks: 3, Latents: 3}
	b, parent := withParent(t, "c1", parentSet, set)
	if _, err := b.Handle(t.Context(), h, protocol.TextSubject("c1"), stagemem.Options{}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if got, want := b.Has(protocol.LatentSubject("c1", i)), i >= 3; got != want {
			t.Errorf("child chunk %d published: %v, want %v", i, got, want)
		}
	}

	e := fixture.Engine(t)
	cond, _ := e.EncodeText(t.Context(), fixture.Prompt().Prompt)
	uncond, _ := e.EncodeText(t.Context(), fixture.Prompt().Negative)
	const known, frames = 2, 4 * 16
	g := &model.Guide{Known: make([]float32, 8*16*64), Fixed: make([]bool, 16)}
	for c := range 8 { // latent frames 0..7 = the parent's chunks 1 and 2
		for k := range known {
			copy(g.Known[(c*16+4*k)*64:(c*16+4*k+4)*64], parent[1+k][c*4*64:(c+1)*4*64])
		}
	}
	for f := range 4 * known {
		g.Fixed[f] = true
	}
	var want [][]float32
	err := e.SampleWindows(t.Context(), cond, uncond, model.SampleParams{Frames: frames, Steps: 2, Guidance: set.Guidance, Shift: set.Shift, Seed: set.Seed, Guide: g},
		e.DefaultWindowing(), func(c int, lat []float32) error {
			if c >= known {
				want = append(want, lat)
			}
			return nil
		}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		env, v := latent(t, b, protocol.LatentSubject("c1", 3+k))
		if env.Chunk != 3+k || env.Count != 5 || !slices.Equal(v, w) {
			t.Errorf("child chunk %d (count %d): equal to the engine's new chunk %d: %v", env.Chunk, env.Count, k, slices.Equal(v, w))
		}
	}
	if ev := b.Events("c1"); ev[len(ev)-1].Kind != protocol.EventDone || ev[len(ev)-1].Count != 5 {
		t.Errorf("last event %+v", ev[len(ev)-1])
	}
}

// A parent latent chunk that is gone fails the job permanently, naming it.
func TestHandlerParentLatentMissing(t *testing.T) {
	h := newHandler(t)
	set := fixture.Settings(3, 2)
	set.Source = &protocol.Source{Kind: protocol.SourceRemix, Job: "p1", Chunks: 3, Strength: 0.6}
	b, _ := withParent(t, "c2", fixture.Settings(3, 2), set, 1)
	_, err := b.Handle(t.Context(), h, protocol.TextSubject("c2"), stagemem.Options{})
	if !stages.IsPermanent(err) || !errors.Is(err, protocol.ErrMissing) || !strings.Contains(err.Error(), "reel.latent.p1.1") {
		t.Fatalf("error %v: want a permanent ErrMissing naming reel.latent.p1.1", err)
	}
	if b.Has(protocol.LatentSubject("c2", 0)) {
		t.Error("published a chunk without the parent's latent")
	}
}

// A remix at strength 1 is the plain job's latent; at 0.6 it is not.
func TestHandlerRemix(t *testing.T) {
	h := newHandler(t)
	plain := fixture.Settings(3, 2)
	plain.Seed = 9
	want := fixture.Latents(t, fixture.Prompt(), plain)
	for _, c := range []struct {
		strength float64
		same     bool
	}{{1, true}, {0.6, false}} {
		set := plain
		set.Source = &protocol.Source{Kind: protocol.SourceRemix, Job: "p1", Chunks: 3, Strength: c.strength}
		b, _ := withParent(t, "c3", fixture.Settings(3, 2), set)
		if _, err := b.Handle(t.Context(), h, protocol.TextSubject("c3"), stagemem.Options{}); err != nil {
			t.Fatal(err)
		}
		same := true
		for i := range 3 {
			_, v := latent(t, b, protocol.LatentSubject("c3", i))
			same = same && slices.Equal(v, want[i])
		}
		if same != c.same {
			t.Errorf("remix at strength %v equals the plain job: %v, want %v", c.strength, same, c.same)
		}
	}
}
