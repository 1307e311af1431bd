package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// Plain progress lines count distinct chunks: a redelivered chunk's second
// event does not push the count past the total.
func TestProgressLinesCountChunksOnce(t *testing.T) {
	var out bytes.Buffer
	set := protocol.DefaultSettings()
	set.Frames = 2 * protocol.FramesPerChunk
	p := newProgress(&out, set)
	for _, ev := range []protocol.Event{
		{Job: "j", Stage: protocol.StageDenoise, Kind: protocol.EventStep, Step: 1, Total: 2},
		{Job: "j", Stage: protocol.StageVAEDecode, Kind: protocol.EventChunk, Chunk: 1, Count: 2},
		{Job: "j", Stage: protocol.StageVAEDecode, Kind: protocol.EventChunk, Chunk: 1, Count: 2},
		{Job: "j", Stage: protocol.StageVAEDecode, Kind: protocol.EventChunk, Chunk: 0, Count: 2},
		{Job: "j", Stage: protocol.StageEncode, Kind: protocol.EventChunk, Chunk: 0, Count: 2},
	} {
		p.event(ev)
	}
	want := []string{
		"j denoise step 1/2",
		"j vaedecode decoded chunk 1 (1/2)",
		"j vaedecode decoded chunk 1 (1/2)",
		"j vaedecode decoded chunk 0 (2/2)",
		"j encode muxed chunk 0 (1/2)",
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("progress lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// follow shows a job's history through its ending event, also when the job
// has ended before follow starts.
func TestFollowShowsTheLastEvent(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, 30*time.Second)
	store := orchestrator.NewStore(b, bustest.Logger(t))
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = orchestrator.Projector{Store: store}.Run(pctx) }()
	id, err := store.Submit(ctx, protocol.Request{Prompt: "a red circle moving right"}, protocol.DefaultSettings(), orchestrator.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The projector appends the submitted event on its own time: fail the
	// job once it is there (a job that ends first shows no submitted line).
	seen, found := context.WithCancel(ctx)
	if err := store.Follow(seen, id, func(ev protocol.Event) {
		if ev.Kind == protocol.EventSubmitted {
			found()
		}
	}); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting for the submitted event: %v", err)
	}
	if err := store.Fail(ctx, id, protocol.StageDenoise, "boom"); err != nil {
		t.Fatal(err)
	}
	if err := store.Settled(ctx, id); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	j, err := follow(ctx, store, id, &out)
	if err != nil || j.State != protocol.StateFailed {
		t.Fatalf("follow: %v %v", j, err)
	}
	for _, want := range []string{id + " submitted", id + " failed in denoise: boom"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("follow printed\n%s\nwithout %q", out.String(), want)
		}
	}
}
