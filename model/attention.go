package model

import "github.com/reel-video/reel/model/kernels"

// attnJob is one multi-head attention over one sequence.
type attnJob struct {
	out, q, k, v []float32
	p            kernels.AttnParams
}

// attention runs the jobs one after another with scratch s: kernels'
// Attention already spreads (head, query block) units over the cores, and
// measured side by side, splitting the heads across goroutines here as well
// gained nothing.
func attention(s *kernels.AttnScratch, jobs []attnJob) {
	for _, j := range jobs {
		s.Attention(j.out, j.q, j.k, j.v, j.p)
	}
}
