// Package pipelinetest runs a real pipeline for the length of a test.
package pipelinetest

import (
	"context"
	"testing"

	"github.com/reel-video/reel/stages/pipeline"
	"github.com/reel-video/reel/stages/worker"
)

// Serve runs pipeline.Run with o until the test ends. It returns once the
// stages have started (o.Started, if set, is called first), fails the test
// when the pipeline cannot start, and reports an error it ends with.
func Serve(t testing.TB, o pipeline.Options) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	then := o.Started
	o.Started = func(rs []*worker.Runner) {
		if then != nil {
			then(rs)
		}
		close(started)
	}
	go func() { done <- pipeline.Run(ctx, o) }()
	select {
	case <-started:
	case err := <-done:
		cancel()
		t.Fatalf("pipeline: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
	})
}
