package model

import "testing"

// BenchmarkLoad times model.Load of the built-in weights: the start-up
// cost every process pays before its first job.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
