package stagemem

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/protocol"
)

func envelope(t *testing.T, job string, chunk, count int, body any) *protocol.Envelope {
	t.Helper()
	set := protocol.DefaultSettings()
	set.Frames = count * protocol.FramesPerChunk
	if count == 0 {
		set.Frames = protocol.FramesPerChunk
	}
	env := &protocol.Envelope{Job: job, Stage: "test", Attempt: 1, Settings: set, Chunk: chunk, Count: count}
	if err := env.SetBody(body); err != nil {
		t.Fatal(err)
	}
	return env
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPublishIsWriteOnce(t *testing.T) {
	b := New()
	subj := protocol.TextSubject("j1")
	if dup, err := b.Publish(ctx(t), subj, envelope(t, "j1", 0, 0, "first")); err != nil || dup {
		t.Fatalf("first publish: dup %v, err %v", dup, err)
	}
	if dup, err := b.Publish(ctx(t), subj, envelope(t, "j1", 0, 0, "second")); err != nil || !dup {
		t.Fatalf("second publish: dup %v, err %v; want a dropped duplicate", dup, err)
	}
	env, err := b.Message(subj)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := env.DecodeBody(&got); err != nil || got != "first" {
		t.Fatalf("body %q (%v), want the first", got, err)
	}
	if s := b.Subjects(); !slices.Equal(s, []string{subj}) {
		t.Errorf("subjects %v", s)
	}
}

func TestDeliveryPublishInherits(t *testing.T) {
	b := New()
	in := envelope(t, "j1", 1, 2, "latent")
	if _, err := b.Publish(ctx(t), protocol.LatentSubject("j1", 1), in); err != nil {
		t.Fatal(err)
	}
	d, err := b.Deliver(protocol.LatentSubject("j1", 1), Options{Attempt: 3})
	if err != nil {
		t.Fatal(err)
	}
	if d.Attempt() != 3 || d.Subject() != protocol.LatentSubject("j1", 1) || d.Envelope().Job != "j1" {
		t.Fatalf("delivery attempt %d subject %s job %s", d.Attempt(), d.Subject(), d.Envelope().Job)
	}
	out := &protocol.Envelope{Chunk: 1, Count: 2, Job: "other", Stage: "x"}
	if err := d.Publish(ctx(t), protocol.FramesSubject("j1", 1), out); err != nil {
		t.Fatal(err)
	}
	got, err := b.Message(protocol.FramesSubject("j1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got.Job != "j1" || got.Stage != protocol.StageVAEDecode || got.Attempt != 3 || got.Settings != in.Settings || got.V != protocol.SchemaVersion {
		t.Errorf("published %+v: want job j1, stage vaedecode, attempt 3, the delivered settings", got)
	}
	d.Report(ctx(t), protocol.Event{Kind: protocol.EventChunk, Chunk: 1, Count: 2, Job: "other"})
	evs := b.Events("j1")
	if len(evs) != 1 || evs[0].Stage != protocol.StageVAEDecode || evs[0].Worker != DefaultWorker || evs[0].Time.IsZero() {
		t.Errorf("events %+v", evs)
	}
	if d.Heartbeats() != 1 {
		t.Errorf("%d heartbeats after one report, want 1", d.Heartbeats())
	}
}

func TestDeliverRefuses(t *testing.T) {
	b := New()
	b.PublishRaw(protocol.TextSubject("bad"), []byte{0xc1})
	if _, err := b.Publish(ctx(t), protocol.TextSubject("j2"), envelope(t, "j1", 0, 0, "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(ctx(t), protocol.LatentSubject("j3", 0), envelope(t, "j3", 1, 2, "x")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		subject string
		is      error
		reason  string
	}{
		{protocol.TextSubject("bad"), protocol.ErrMalformed, "envelope"},
		{protocol.TextSubject("j2"), protocol.ErrMalformed, `envelope names job "j1"`},
		{protocol.LatentSubject("j3", 0), protocol.ErrMalformed, "envelope names chunk 1"},
		{protocol.TextSubject("none"), protocol.ErrMissing, "no message on reel.text.none"},
	} {
		_, err := b.Deliver(c.subject, Options{})
		if !errors.Is(err, c.is) || err == nil || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v, want %v naming %q", c.subject, err, c.is, c.reason)
		}
	}
}

func TestFollowSeesLaterMessagesInOrder(t *testing.T) {
	b := New()
	publish := func(i int) {
		if _, err := b.Publish(ctx(t), protocol.FramesSubject("j1", i), envelope(t, "j1", i, 4, i)); err != nil {
			t.Error(err)
		}
	}
	publish(2)
	b.PublishRaw(protocol.FramesSubject("other", 1), []byte("ignored: not followed"))
	f, err := b.Follow(ctx(t), []string{protocol.FramesSubject("j1", 1), protocol.FramesSubject("j1", 2), protocol.FramesSubject("j1", 3)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	started := make(chan struct{})
	go func() {
		<-started
		publish(3)
		publish(1)
	}()
	var got []int
	for len(got) < 3 {
		if len(got) == 1 {
			close(started)
		}
		subj, env, err := f.Next(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if subj != protocol.FramesSubject("j1", env.Chunk) {
			t.Errorf("%s carries chunk %d", subj, env.Chunk)
		}
		got = append(got, env.Chunk)
	}
	if !slices.Equal(got, []int{2, 3, 1}) {
		t.Errorf("followed chunks %v, want stream order [2 3 1]", got)
	}
}

func TestFollowEnds(t *testing.T) {
	b := New()
	b.PublishRaw(protocol.FramesSubject("j1", 1), []byte{0xc1})
	f, err := b.Follow(ctx(t), []string{protocol.FramesFilter("j1")})
	if err != nil {
		t.Fatal(err)
	}
	if subj, _, err := f.Next(ctx(t)); !errors.Is(err, protocol.ErrMalformed) || subj != protocol.FramesSubject("j1", 1) ||
		!strings.HasPrefix(err.Error(), subj+": ") {
		t.Errorf("undecodable message: %s, %v; want ErrMalformed with the subject", subj, err)
	}
	cause := errors.New("job ended")
	c, cancel := context.WithCancelCause(ctx(t))
	go cancel(cause)
	if _, _, err := f.Next(c); !errors.Is(err, cause) {
		t.Errorf("Next after cancel: %v, want the cause", err)
	}
	go f.Stop()
	if _, _, err := f.Next(ctx(t)); !errors.Is(err, ErrStopped) {
		t.Errorf("Next after Stop: %v", err)
	}
}

func TestEndedContextRefusesWrites(t *testing.T) {
	b := New()
	if _, err := b.Publish(ctx(t), protocol.TextSubject("j1"), envelope(t, "j1", 0, 0, "x")); err != nil {
		t.Fatal(err)
	}
	d, err := b.Deliver(protocol.TextSubject("j1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := d.Publish(c, protocol.LatentSubject("j1", 0), &protocol.Envelope{Count: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("publish: %v", err)
	}
	if err := d.PutBlob(c, "x", strings.NewReader("x"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("put blob: %v", err)
	}
	if _, err := d.Has(c, protocol.TextSubject("j1")); !errors.Is(err, context.Canceled) {
		t.Errorf("has: %v", err)
	}
	d.Report(c, protocol.Event{Kind: protocol.EventDone})
	if b.Has(protocol.LatentSubject("j1", 0)) || len(b.Events("j1")) != 0 {
		t.Error("wrote after the context ended")
	}
}

func TestClaimResolved(t *testing.T) {
	b := New()
	body := []byte("the body, stored aside")
	sum := sha256.Sum256(body)
	if err := b.PutBlob(ctx(t), "claim-1", bytes.NewReader(body), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	env := envelope(t, "j1", 0, 0, nil)
	env.Body, env.Claim = nil, &protocol.Claim{Bucket: protocol.BlobsBucket, Name: "claim-1", Size: len(body), SHA256: hex.EncodeToString(sum[:])}
	if _, err := b.Publish(ctx(t), protocol.TextSubject("j1"), env); err != nil {
		t.Fatal(err)
	}
	got, err := b.Message(protocol.TextSubject("j1"))
	if err != nil || !bytes.Equal(got.Body, body) || got.Claim != nil {
		t.Fatalf("resolved %+v, %v", got, err)
	}
	if bl, err := b.Blob("claim-1"); err != nil || bl.Meta["k"] != "v" {
		t.Errorf("blob %+v, %v", bl, err)
	}
	if _, err := b.Blob("none"); !errors.Is(err, protocol.ErrMissing) {
		t.Errorf("missing blob: %v", err)
	}
}

func TestMatchSubject(t *testing.T) {
	for _, c := range []struct {
		filter, subject string
		want            bool
	}{
		{"reel.frames.j.1", "reel.frames.j.1", true},
		{"reel.frames.j.1", "reel.frames.j.10", false},
		{"reel.frames.j.*", "reel.frames.j.3", true},
		{"reel.frames.j.*", "reel.frames.j", false},
		{"reel.frames.*.0", "reel.frames.k.0", true},
		{"reel.>", "reel.frames.k.0", true},
		{"reel.>", "reel", false},
		{"reel.frames.j", "reel.frames.j.1", false},
	} {
		if got := matchSubject(c.filter, c.subject); got != c.want {
			t.Errorf("match(%q, %q) = %v", c.filter, c.subject, got)
		}
	}
}
