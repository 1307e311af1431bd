package model

import (
	"fmt"

	"github.com/reel-video/reel/model/kernels"
)

// textEncoder is reel_tiny.py TextEncoder: token + position embedding, pre-LN
// transformer layers with key-masked self-attention, final LayerNorm.
type textEncoder struct {
	cfg    Config
	tokEmb []float32 // [vocab, d]
	posEmb []float32 // [maxLen, d]
	layers []textLayer
	lnW    []float32
	lnB    []float32
}

type textLayer struct {
	ln1W, ln1B, ln2W, ln2B []float32
	qkv, out, fc1, fc2     *kernels.Weight
}

func loadTextEncoder(cfg Config, s tensors) (*textEncoder, error) {
	d, n := cfg.TextDim, cfg.TextMaxLen
	e := &textEncoder{cfg: cfg}
	var err error
	if e.tokEmb, err = s.f32("text.tok_emb.weight", cfg.TextVocab, d); err != nil {
		return nil, err
	}
	if e.posEmb, err = s.f32("text.pos_emb", n, d); err != nil {
		return nil, err
	}
	if e.lnW, err = s.f32("text.ln_f.weight", d); err != nil {
		return nil, err
	}
	if e.lnB, err = s.f32("text.ln_f.bias", d); err != nil {
		return nil, err
	}
	for i := 0; i < cfg.TextLayers; i++ {
		p := fmt.Sprintf("text.layers.%d.", i)
		var L textLayer
		for _, v := range []struct {
			dst  *[]float32
			name string
		}{{&L.ln1W, "ln1.weight"}, {&L.ln1B, "ln1.bias"}, {&L.ln2W, "ln2.weight"}, {&L.ln2B, "ln2.bias"}} {
			if *v.dst, err = s.f32(p+v.name, d); err != nil {
				return nil, err
			}
		}
		for _, v := range []struct {
			dst     **kernels.Weight
			name    string
			out, in int
		}{{&L.qkv, "qkv.weight", 3 * d, d}, {&L.out, "out.weight", d, d}, {&L.fc1, "fc1.weight", 4 * d, d}, {&L.fc2, "fc2.weight", d, 4 * d}} {
			if *v.dst, err = s.linear(p+v.name, v.out, v.in); err != nil {
				return nil, err
			}
		}
		e.layers = append(e.layers, L)
	}
	return e, nil
}

// encode returns the hidden states [maxLen, d] for token ids and mask.
// Every position is computed, PAD ones included (the reference does; the
// DiT masks them as keys).
func (e *textEncoder) encode(ids []int, mask []bool) []float32 {
	d, n, heads := e.cfg.TextDim, e.cfg.TextMaxLen, e.cfg.TextHeads
	eps := float32(e.cfg.NormEps)
	x := make([]float32, n*d)
	for i, id := range ids {
		row, tok, pos := x[i*d:(i+1)*d], e.tokEmb[id*d:(id+1)*d], e.posEmb[i*d:(i+1)*d]
		for j := range row {
			row[j] = tok[j] + pos[j]
		}
	}
	y := make([]float32, n*d)
	qkv := make([]float32, n*3*d)
	a := make([]float32, n*d)
	o := make([]float32, n*d)
	h := make([]float32, n*4*d)
	var scratch kernels.AttnScratch
	for _, L := range e.layers {
		copy(y, x)
		kernels.LayerNorm(y, n, d, L.ln1W, L.ln1B, eps)
		kernels.Linear(qkv, y, n, L.qkv, nil)
		attention(&scratch, []attnJob{{out: a, q: qkv, k: qkv[d:], v: qkv[2*d:], p: kernels.AttnParams{
			NQ: n, NK: n, Heads: heads, HeadDim: d / heads,
			QStride: 3 * d, KStride: 3 * d, VStride: 3 * d, OStride: d, KeyMask: mask,
		}}})
		kernels.LinearResidual(x, o, a, n, L.out, nil)
		copy(y, x)
		kernels.LayerNorm(y, n, d, L.ln2W, L.ln2B, eps)
		kernels.LinearGELU(h, y, n, L.fc1, nil)
		kernels.LinearResidual(x, o, h, n, L.fc2, nil)
	}
	kernels.LayerNorm(x, n, d, e.lnW, e.lnB, eps)
	return x
}
