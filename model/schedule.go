package model

// sigmaSchedule reproduces reel_tiny.py sigma_schedule for steps ≥ 1:
// torch.linspace(1, 0, steps+1) in float64 (torch's symmetric formula: the
// first half counts up from the start, the second half down from the end),
// the shift k·s/(1+(k−1)·s) in float64, and one rounding to float32.
func sigmaSchedule(steps int, shift float64) []float32 {
	n := steps + 1
	out := make([]float32, n)
	const start, end = 1.0, 0.0
	step := (end - start) / float64(n-1)
	half := n / 2
	for i := range out {
		var s float64
		if i < half {
			s = start + step*float64(i)
		} else {
			s = end - step*float64(n-1-i)
		}
		out[i] = float32(shift * s / (1 + (shift-1)*s))
	}
	return out
}
