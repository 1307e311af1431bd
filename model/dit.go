package model

import (
	"fmt"

	"github.com/reel-video/reel/model/kernels"
	"github.com/reel-video/reel/model/safetensors"
)

// dit is reel_tiny.py DiT. Block linears may be FP8 (kernels multiply their
// values by BF16-rounded activations, the row scale applied to the sum: see
// kernels/bf16.go); everything else is float32, except that in compact mode the
// small layers outside the blocks (timestep MLP, AdaLN, caption MLP) stay
// BF16 (see smallLinear).
type dit struct {
	cfg        Config
	d, heads   int
	patchW     *kernels.Weight // [d, 32]
	patchB     []float32
	tFC1, tFC2 *smallLinear
	adaln      *smallLinear // [6d, d]
	capFC1     *smallLinear
	capFC2     *smallLinear
	blocks     []ditBlock
	finalTable []float32       // [2, d]
	projW      *kernels.Weight // [32, d]
	projB      []float32
	fp8        bool
}

type ditBlock struct {
	table              []float32 // [6, d]
	qkv, out1, q2, kv2 *kernels.Weight
	out2, fc1, fc2     *kernels.Weight
	qNorm1, kNorm1     []float32 // [head_dim]
	qNorm2, kNorm2     []float32
	norm2W, norm2B     []float32
}

// fp8Checkpoint reports whether a DiT checkpoint's block weights are FP8
// codes, from its header alone.
func fp8Checkpoint(s tensors) bool {
	t, ok := s.f.Get("dit.blocks.0.qkv.weight")
	return ok && t.DType == safetensors.F8_E4M3
}

// loadDiT reads the DiT from a checkpoint. The block linears keep the
// file's precision class (FP8 codes stay FP8, anything else becomes
// float32). compact keeps the one-row layers in BF16 when the file has
// them so: it is chosen for FP8 checkpoints, whose point is memory.
func loadDiT(cfg Config, s tensors) (*dit, error) {
	d := cfg.DiTDim
	hd := d / cfg.DiTHeads
	pin := cfg.LatentChannels * 4
	m := &dit{cfg: cfg, d: d, heads: cfg.DiTHeads}
	m.fp8 = fp8Checkpoint(s)
	var err error
	lin := func(dst **kernels.Weight, name string, out, in int) {
		if err == nil {
			*dst, err = s.linear(name, out, in)
		}
	}
	vec := func(dst *[]float32, name string, shape ...int) {
		if err == nil {
			*dst, err = s.f32(name, shape...)
		}
	}
	small := func(dst **smallLinear, prefix string, out, in int) {
		if err == nil {
			*dst, err = s.smallLinear(prefix, out, in, m.fp8)
		}
	}
	lin(&m.patchW, "dit.patch_embed.weight", d, pin)
	vec(&m.patchB, "dit.patch_embed.bias", d)
	small(&m.tFC1, "dit.t_fc1", d, timestepDim)
	small(&m.tFC2, "dit.t_fc2", d, d)
	small(&m.adaln, "dit.adaln", 6*d, d)
	small(&m.capFC1, "dit.cap_fc1", d, cfg.TextDim)
	small(&m.capFC2, "dit.cap_fc2", d, d)
	vec(&m.finalTable, "dit.final_table", 2, d)
	lin(&m.projW, "dit.proj_out.weight", pin, d)
	vec(&m.projB, "dit.proj_out.bias", pin)
	for i := 0; i < cfg.DiTLayers && err == nil; i++ {
		p := fmt.Sprintf("dit.blocks.%d.", i)
		var b ditBlock
		vec(&b.table, p+"table", 6, d)
		lin(&b.qkv, p+"qkv.weight", 3*d, d)
		lin(&b.out1, p+"out1.weight", d, d)
		lin(&b.q2, p+"q2.weight", d, d)
		lin(&b.kv2, p+"kv2.weight", 2*d, d)
		lin(&b.out2, p+"out2.weight", d, d)
		lin(&b.fc1, p+"fc1.weight", 4*d, d)
		lin(&b.fc2, p+"fc2.weight", d, 4*d)
		vec(&b.qNorm1, p+"q_norm1.weight", hd)
		vec(&b.kNorm1, p+"k_norm1.weight", hd)
		vec(&b.qNorm2, p+"q_norm2.weight", hd)
		vec(&b.kNorm2, p+"k_norm2.weight", hd)
		vec(&b.norm2W, p+"norm2.weight", d)
		vec(&b.norm2B, p+"norm2.bias", d)
		m.blocks = append(m.blocks, b)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// weightBytes is the resident size of every weight, as loaded.
func (m *dit) weightBytes() int {
	n := m.patchW.Bytes() + m.projW.Bytes()
	for _, l := range []*smallLinear{m.tFC1, m.tFC2, m.adaln, m.capFC1, m.capFC2} {
		n += l.bytes()
	}
	n += 4 * (len(m.patchB) + len(m.finalTable) + len(m.projB))
	for _, b := range m.blocks {
		for _, w := range []*kernels.Weight{b.qkv, b.out1, b.q2, b.kv2, b.out2, b.fc1, b.fc2} {
			n += w.Bytes()
		}
		n += 4 * (len(b.table) + len(b.qNorm1) + len(b.kNorm1) + len(b.qNorm2) + len(b.kNorm2) + len(b.norm2W) + len(b.norm2B))
	}
	return n
}
