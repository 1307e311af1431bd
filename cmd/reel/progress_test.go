package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus"
)

// Plain progress lines count distinct chunks: a redelivered chunk's second
// event does not push the count past the total.
func TestProgressLinesCountChunksOnce(t *testing.T) {
	var out bytes.Buffer
	set := bus.DefaultSettings()
	set.Frames = 2 * bus.FramesPerChunk
	p := newProgress(&out, set)
	for _, ev := range []bus.Event{
		{Job: "j", Stage: bus.StageDenoise, Kind: bus.EventStep, Step: 1, Total: 2},
		{Job: "j", Stage: bus.StageVAEDecode, Kind: bus.EventChunk, Chunk: 1, Count: 2},
		{Job: "j", Stage: bus.StageVAEDecode, Kind: bus.EventChunk, Chunk: 1, Count: 2},
		{Job: "j", Stage: bus.StageVAEDecode, Kind: bus.EventChunk, Chunk: 0, Count: 2},
		{Job: "j", Stage: bus.StageEncode, Kind: bus.EventChunk, Chunk: 0, Count: 2},
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
