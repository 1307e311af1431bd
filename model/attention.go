package model

import "github.com/reel-video/reel/model/kernels"

// attnJob is one multi-head attention over one sequence.
type attnJob struct {
	out, q, k, v []float32
	p            kernels.AttnParams
}

// attention runs the jobs (the sequences of a batch) with scratch s as one
// parallel loop over every (sequence, head) item, so the cores balance
// across the sequences instead of waiting for each other at the end of
// every sequence.
func attention(s *kernels.AttnScratch, jobs []attnJob) {
	calls := make([]kernels.AttnCall, len(jobs))
	for i, j := range jobs {
		calls[i] = kernels.AttnCall{Out: j.out, Q: j.q, K: j.k, V: j.v, P: j.p}
	}
	s.Batch(calls)
}
