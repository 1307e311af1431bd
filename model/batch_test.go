package model

import (
	"context"
	"testing"
)

// TestBatchedForwardMatchesSingle: the batched prompt+negative forward
// (shared block-0 self-attention, one GEMM for both) must give what two
// separate single-condition forwards give.
func TestBatchedForwardMatchesSingle(t *testing.T) {
	for _, v := range []struct {
		name string
		load func() (*Engine, error)
	}{{"fp8", fp8Engine}, {"f32", bf16Engine}} {
		e, err := v.load()
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		cond, _ := e.EncodeText(ctx, "a green triangle moving left")
		uncond, _ := e.EncodeText(ctx, "")
		const tl = 8
		z := Noise(3, latentChannels*tl*latentPlane)
		w := e.dit.newWork(2, tl)
		both := [][]float32{make([]float32, len(z)), make([]float32, len(z))}
		e.dit.forward(w, z, 0.6, []*textCond{e.dit.prepareText(cond), e.dit.prepareText(uncond)}, both)
		for i, emb := range []*TextEmbedding{cond, uncond} {
			single := e.velocity(z, tl, 0.6, emb)
			if r := relErr(both[i], single); r > 1e-6 {
				t.Errorf("%s: condition %d: batched vs single rel err %.3g", v.name, i, r)
			} else {
				t.Logf("%s: condition %d: batched vs single rel err %.3g", v.name, i, r)
			}
		}
	}
}
