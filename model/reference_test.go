package model

import (
	"context"
	"encoding/binary"
	"math"
	"sync"
	"testing"

	"github.com/reel-video/reel/model/safetensors"
)

// The reference tests compare with reel-tiny.testvectors.safetensors, made
// by reel_tiny.py with the BF16 weights widened to float32 and float32
// arithmetic on a CPU. Tolerances are the relative errors
// ‖a−b‖/‖b‖.

const (
	testVectorsPath = "testdata/reel-tiny.testvectors.safetensors"
	bf16DiTPath     = "testdata/reel-tiny.dit.bf16.safetensors"
)

var testVectors = sync.OnceValues(func() (*safetensors.File, error) {
	return safetensors.ReadFile(testVectorsPath)
})

// bf16Engine is the float32 engine: BF16 DiT from testdata, embedded BF16
// text encoder and VAE. Loaded once for all tests.
var bf16Engine = sync.OnceValues(func() (*Engine, error) {
	return Load(Options{DiTPath: bf16DiTPath})
})

func vector(t *testing.T, name string) []float32 {
	t.Helper()
	f, err := testVectors()
	if err != nil {
		t.Fatal(err)
	}
	tn, ok := f.Get(name)
	if !ok {
		t.Fatalf("test vector %q missing", name)
	}
	if tn.DType == safetensors.I64 {
		out := make([]float32, tn.NumEl())
		for i := range out {
			out[i] = float32(int64(binary.LittleEndian.Uint64(tn.Data[8*i:])))
		}
		return out
	}
	v, err := tn.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func engineF32(t *testing.T) *Engine {
	t.Helper()
	e, err := bf16Engine()
	if err != nil {
		t.Fatal(err)
	}
	if e.DiTFP8() {
		t.Fatal("BF16 DiT loaded as FP8")
	}
	return e
}

// relErr is ‖a−b‖/‖b‖ in float64.
func relErr(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// psnr of video a against b, both about [−1, 1], clamped like the reference
// evaluation: 10·log10(2²/MSE).
func psnr(a, b []float32) float64 {
	var se float64
	for i := range a {
		d := float64(min(max(a[i], -1), 1)) - float64(min(max(b[i], -1), 1))
		se += d * d
	}
	return 10 * math.Log10(4/(se/float64(len(a))))
}

var referencePrompts = []string{"a red circle moving right", "一个蓝色的正方形向上移动，背景是白色", ""}

func TestTextEncoderMatchesReference(t *testing.T) {
	e := engineF32(t)
	for i, p := range referencePrompts {
		ids, _ := e.Config().Tokenize(p)
		want := vector(t, "text"+string(rune('0'+i))+".ids")
		for j := range ids {
			if float32(ids[j]) != want[j] {
				t.Fatalf("prompt %q: ids[%d] = %d, want %v", p, j, ids[j], want[j])
			}
		}
		emb, err := e.EncodeText(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		r := relErr(emb.Hidden, vector(t, "text"+string(rune('0'+i))+".hidden"))
		t.Logf("prompt %q: hidden rel err %.3g", p, r)
		if r > 1e-5 {
			t.Errorf("prompt %q: hidden rel err %.3g > 1e-5", p, r)
		}
	}
}

func TestDiTVelocityMatchesReference(t *testing.T) {
	e := engineF32(t)
	emb, err := e.EncodeText(context.Background(), referencePrompts[0])
	if err != nil {
		t.Fatal(err)
	}
	sigma := vector(t, "dit.sigma")[0]
	v := e.velocity(vector(t, "dit.x"), 8, sigma, emb)
	r := relErr(v, vector(t, "dit.v"))
	t.Logf("velocity rel err %.3g", r)
	if r > 1e-4 {
		t.Errorf("velocity rel err %.3g > 1e-4", r)
	}
}

func TestVAEDecoderMatchesReference(t *testing.T) {
	e := engineF32(t)
	vid := e.vae.decode(vector(t, "vae.latent"), latentFrames)
	r := relErr(vid, vector(t, "vae.video"))
	t.Logf("video rel err %.3g", r)
	if r > 1e-5 {
		t.Errorf("video rel err %.3g > 1e-5", r)
	}
}
