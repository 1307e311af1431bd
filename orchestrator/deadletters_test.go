package orchestrator_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
)

// Dead-letter advisories of a stage's consumer fail the job with the reason;
// advisories of any other consumer on stream REEL (an operator's) are
// dropped. Advisories are handled in order, so once the last job has failed
// the ignored ones have been seen.
func TestDeadLettersFailJobsOfStageConsumersOnly(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, time.Minute)
	store := orchestrator.NewStore(b, bustest.Logger(t))
	submit := func() (string, uint64) {
		id, err := store.Submit(ctx, protocol.Request{Prompt: "a red circle moving right"}, protocol.DefaultSettings(), orchestrator.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m, err := b.LastMsg(ctx, protocol.PromptSubject(id))
		if err != nil {
			t.Fatal(err)
		}
		return id, m.Sequence
	}
	advise := func(kind, consumer string, seq uint64, reason string) {
		a := map[string]any{"type": "io.nats.jetstream.advisory.v1." + kind, "stream": protocol.StreamName,
			"consumer": consumer, "stream_seq": seq, "deliveries": 5, "reason": reason}
		data, _ := json.Marshal(a)
		subj := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + protocol.StreamName + "." + consumer
		if kind == "terminated" {
			subj = "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED." + protocol.StreamName + "." + consumer
		}
		if _, err := b.JS.Publish(ctx, subj, data); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- orchestrator.DeadLetters{Store: store}.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("dead letters: %v", err)
		}
	})

	ignored, seq := submit()
	advise("max_deliver", "audit", seq, "")
	advise("terminated", "reel-nosuchstage", seq, "")
	gaveUp, seq2 := submit()
	advise("max_deliver", protocol.ConsumerName(protocol.StageTextEnc), seq2, "")
	terminated, seq3 := submit()
	advise("terminated", protocol.ConsumerName(protocol.StageTextEnc), seq3, "by hand")

	for id, want := range map[string]string{
		gaveUp:     "textenc: gave up on " + protocol.PromptSubject(gaveUp) + " after 5 deliveries",
		terminated: "textenc: message " + protocol.PromptSubject(terminated) + " terminated: by hand",
	} {
		j, err := store.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != protocol.StateFailed || !strings.HasPrefix(j.Error, want) || j.FailedStage != protocol.StageTextEnc {
			t.Errorf("job %s: %s %q (stage %q), want failed %q", id, j.State, j.Error, j.FailedStage, want)
		}
	}
	if j, err := store.Get(ctx, ignored); err != nil || j.State != protocol.StateQueued {
		t.Fatalf("job of another consumer's advisory: %v %v, want queued", j.State, err)
	}

	// The durable consumer deleted under a running handler: it attaches again.
	if err := b.DLQ.DeleteConsumer(ctx, "reel-deadletters"); err != nil {
		t.Fatal(err)
	}
	after, seq4 := submit()
	advise("max_deliver", protocol.ConsumerName(protocol.StageDenoise), seq4, "")
	if j, err := store.Wait(ctx, after); err != nil || j.State != protocol.StateFailed {
		t.Fatalf("advisory after the consumer was deleted: %v %v, want failed", j, err)
	}
}
