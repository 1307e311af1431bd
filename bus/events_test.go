package bus_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
)

// Two workers that ran the same redelivered message both report its
// once-per-job events; the events stream keeps one of each, while events
// that can repeat (steps of a re-run, retries) are all kept.
func TestPublishEventKeepsOncePerJobEventsOnce(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, 30*time.Second)
	t0 := time.Now().UTC()
	events := []protocol.Event{
		{Job: "j1", Stage: protocol.StageEncode, Kind: protocol.EventChunk, Chunk: 0, Count: 2, Worker: "a"},
		{Job: "j1", Stage: protocol.StageEncode, Kind: protocol.EventChunk, Chunk: 0, Count: 2, Worker: "b"},
		{Job: "j1", Stage: protocol.StageEncode, Kind: protocol.EventChunk, Chunk: 1, Count: 2, Worker: "a"},
		{Job: "j1", Stage: protocol.StageEncode, Kind: protocol.EventSucceeded, Worker: "a"},
		{Job: "j1", Stage: protocol.StageEncode, Kind: protocol.EventSucceeded, Worker: "b"},
		{Job: "j1", Stage: protocol.StageDenoise, Kind: protocol.EventDone, Worker: "a"},
		{Job: "j1", Stage: protocol.StageDenoise, Kind: protocol.EventDone, Worker: "b"},
		{Job: "j1", Stage: protocol.StageDenoise, Kind: protocol.EventStep, Step: 1, Total: 2, Worker: "a"},
		{Job: "j1", Stage: protocol.StageDenoise, Kind: protocol.EventStep, Step: 1, Total: 2, Worker: "b"},
		{Job: "j2", Stage: protocol.StageEncode, Kind: protocol.EventSucceeded, Worker: "a"},
	}
	for i, ev := range events {
		ev.Time = t0.Add(time.Duration(i) * time.Millisecond)
		if err := b.PublishEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	count := func(job, kind string) int {
		t.Helper()
		c, err := b.JS.OrderedConsumer(ctx, protocol.EventsStreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{protocol.EventSubject(job)}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		batch, err := c.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			if ev, err := decodeEvent(m.Data()); err == nil && ev.Kind == kind {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		job, kind string
		want      int
	}{
		{"j1", protocol.EventChunk, 2}, {"j1", protocol.EventSucceeded, 1}, {"j1", protocol.EventDone, 1},
		{"j1", protocol.EventStep, 2}, {"j2", protocol.EventSucceeded, 1},
	} {
		if got := count(c.job, c.kind); got != c.want {
			t.Errorf("%s: %d %s events, want %d", c.job, got, c.kind, c.want)
		}
	}
}

func decodeEvent(data []byte) (protocol.Event, error) {
	var ev protocol.Event
	err := json.Unmarshal(data, &ev)
	return ev, err
}
