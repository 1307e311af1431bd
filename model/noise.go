package model

import (
	"math"
	"math/rand/v2"
)

// noiseStream is the second PCG seed word, "reel-noi" in ASCII, so that a
// seed here does not share a stream with other uses of PCG(seed, 0).
const noiseStream = 0x7265656c2d6e6f69

// Noise returns n standard-normal float32 values for seed. The generator is
// fixed and portable, so a seed gives the same noise, bit for bit, on every
// machine, OS and worker count:
//
//   - uniforms: math/rand/v2 PCG (PCG-DXSM, 128-bit state) seeded with
//     (uint64(seed), "reel-noi"), 53-bit doubles u = (Uint64()>>11)·2⁻⁵³;
//   - normals: the Marsaglia polar method on pairs (2u₁−1, 2u₂−1), rejecting
//     s = a²+b² ∉ (0,1), giving a·f and b·f with f = sqrt(−2·ln s / s), in
//     that order;
//   - ln is portableLog (fdlibm's algorithm in plain float64 arithmetic with
//     every product rounded explicitly), not math.Log, whose assembly
//     versions differ between architectures; sqrt is IEEE-exact everywhere;
//   - each value is rounded to float32 once, at the end.
//
// The latent noise for a video is Noise(seed, 8·T·8·8) in [C, T, H, W] order.
func Noise(seed int64, n int) []float32 {
	r := rand.New(rand.NewPCG(uint64(seed), noiseStream))
	out := make([]float32, n)
	for i := 0; i < n; {
		a := 2*(float64(r.Uint64()>>11)*0x1p-53) - 1
		b := 2*(float64(r.Uint64()>>11)*0x1p-53) - 1
		s := float64(a*a) + float64(b*b)
		if s <= 0 || s >= 1 {
			continue
		}
		f := math.Sqrt(float64(-2*portableLog(s)) / s)
		out[i] = float32(float64(a * f))
		i++
		if i < n {
			out[i] = float32(float64(b * f))
			i++
		}
	}
	return out
}

// portableLog is the natural logarithm for 0 < x < +Inf, ported from Go's
// pure-Go math.log (FreeBSD's e_log.c). Every product is wrapped in a
// float64 conversion, which the Go spec defines as rounding, so no compiler
// may fuse it into an FMA: the result is the same on every IEEE-754 machine.
func portableLog(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01 // 3fe62e42 fee00000
		ln2Lo = 1.90821492927058770002e-10 // 3dea39ef 35793c76
		l1    = 6.666666666666735130e-01   // 3FE55555 55555593
		l2    = 3.999999999940941908e-01   // 3FD99999 9997FA04
		l3    = 2.857142874366239149e-01   // 3FD24924 94229359
		l4    = 2.222219843214978396e-01   // 3FCC71C5 1D8E78AF
		l5    = 1.818357216161805012e-01   // 3FC74664 96CB03DE
		l6    = 1.531383769920937332e-01   // 3FC39A09 D078C69F
		l7    = 1.479819860511658591e-01   // 3FC2F112 DF3E5244
	)
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s2 * (l1 + float64(s4*(l3+float64(s4*(l5+float64(s4*l7)))))))
	t2 := float64(s4 * (l2 + float64(s4*(l4+float64(s4*l6)))))
	r := t1 + t2
	hfsq := float64(float64(0.5*f) * f)
	return float64(k*ln2Hi) - ((hfsq - (float64(s*(hfsq+r)) + float64(k*ln2Lo))) - f)
}
