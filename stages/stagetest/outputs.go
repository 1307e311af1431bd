package stagetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus/protocol"
)

// OutputFilter is the subject filter of the stage's outputs for job.
func (e *Env) OutputFilter(job string) string {
	switch e.Stage.Name {
	case protocol.StageTextEnc:
		return protocol.TextSubject(job)
	case protocol.StageDenoise:
		return protocol.LatentFilter(job)
	case protocol.StageVAEDecode:
		return protocol.FramesFilter(job)
	}
	return protocol.VideoSubject(job)
}

// Output is one published output message.
type Output struct {
	Seq  uint64
	Data []byte             // the message as stored
	Env  *protocol.Envelope // decoded, claim resolved
}

// Outputs returns the job's output messages by subject, failing the test if
// a subject holds more than one (outputs are write-once).
func (e *Env) Outputs(job string) map[string]Output {
	e.T.Helper()
	ctx := e.ctx()
	info, err := e.Bus.Stream.Info(ctx, jetstream.WithSubjectFilter(e.OutputFilter(job)))
	if err != nil {
		e.T.Fatal(err)
	}
	out := map[string]Output{}
	for subj, n := range info.State.Subjects {
		if n != 1 {
			e.T.Errorf("%s holds %d messages; outputs are write-once", subj, n)
		}
		m, err := e.Bus.Stream.GetLastMsgForSubject(ctx, subj)
		if err != nil {
			e.T.Fatal(err)
		}
		env, err := e.Bus.Decode(ctx, m.Data)
		if err != nil {
			e.T.Fatalf("%s: %v", subj, err)
		}
		out[subj] = Output{Seq: m.Sequence, Data: m.Data, Env: env}
	}
	return out
}

// Snapshot is everything the stage produced for job with the job id
// replaced, so that two jobs' results compare byte for byte: each output's
// stored message and resolved body, and the stage's artifacts.
func (e *Env) Snapshot(job string) map[string][]byte {
	e.T.Helper()
	norm := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(job), []byte("<job>")) }
	snap := map[string][]byte{}
	for subj, o := range e.Outputs(job) {
		key := strings.ReplaceAll(subj, job, "<job>")
		snap[key+" body"] = norm(o.Env.Body)
		snap[key+" settings"] = []byte(fmt.Sprintf("%+v %d/%d", o.Env.Settings, o.Env.Chunk, o.Env.Count))
	}
	if e.Stage.Artifacts != nil {
		for name, data := range e.Stage.Artifacts(e.T, e, job) {
			snap["blob "+strings.ReplaceAll(name, job, "<job>")] = norm(data)
		}
	}
	return snap
}

// Raw is the job's outputs and artifacts exactly as stored (for re-runs of
// the same job, which must not change a byte).
func (e *Env) Raw(job string) map[string][]byte {
	e.T.Helper()
	raw := map[string][]byte{}
	for subj, o := range e.Outputs(job) {
		raw[fmt.Sprintf("%s #%d", subj, o.Seq)] = o.Data
	}
	if e.Stage.Artifacts != nil {
		for name, data := range e.Stage.Artifacts(e.T, e, job) {
			raw["blob "+name] = data
		}
	}
	return raw
}

// Events returns every event of job recorded so far, in order.
func (e *Env) Events(job string) []protocol.Event {
	e.T.Helper()
	ctx := e.ctx()
	subject := protocol.EventSubject(job)
	info, err := e.Bus.Events.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		e.T.Fatal(err)
	}
	n := info.State.Subjects[subject]
	var out []protocol.Event
	if n == 0 {
		return out
	}
	c, err := e.Bus.Events.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		e.T.Fatal(err)
	}
	for range n {
		m, err := c.Next(jetstream.FetchContext(ctx))
		if err != nil {
			e.T.Fatalf("events of %s: %v", job, err)
		}
		var ev protocol.Event
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			e.T.Fatalf("%s: %v", m.Subject(), err)
		}
		out = append(out, ev)
	}
	return out
}
