package model

import "math"

// timestepDim is the width of the sinusoidal sigma embedding (the DiT's
// t_fc1 input), fixed by reel_tiny.py rather than the config.
const timestepDim = 256

// timestepEmbedding writes the sinusoidal embedding of sigma into out
// (len dim): [cos(args), sin(args)], args_i = (1000·σ)·exp(−ln(10⁴)·i/half),
// i < half = dim/2 (reel_tiny.py timestep_embedding). As in PyTorch, the
// scalar −ln(10⁴) is rounded to float32 and every intermediate is float32.
func timestepEmbedding(out []float32, sigma float32, dim int) {
	half := dim / 2
	c := float32(-math.Log(10000.0))
	t := sigma * 1000
	for i := 0; i < half; i++ {
		e := c * float32(i) / float32(half)
		freq := float32(math.Exp(float64(e)))
		arg := t * freq
		out[i] = float32(math.Cos(float64(arg)))
		out[half+i] = float32(math.Sin(float64(arg)))
	}
}
