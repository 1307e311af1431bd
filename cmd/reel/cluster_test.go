package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/orchestrator"
	"github.com/rs/zerolog"
)

// clusterRig is a real three-node NATS cluster (nats-server processes with
// routes and JetStream, layout at R3) and one `reel stage` process per
// stage.
type clusterRig struct {
	t    *testing.T
	c    *bustest.Cluster
	urls string
	dir  string
}

func newClusterRig(t *testing.T, ackWait string) *clusterRig {
	dir := t.TempDir()
	c := bustest.NewCluster(t, bustest.ClusterOptions{Bin: bustest.NATSServerBin(t, dir)})
	r := &clusterRig{t: t, c: c, urls: c.URLs(), dir: dir}
	ctx := bustest.Ctx(t, time.Minute)
	if _, stderr, code := run(t, ctx, "setup", "--nats", r.urls, "--js-replicas", "3", "--ack-wait", ackWait, "--max-bytes", "268435456"); code != 0 {
		t.Fatalf("setup: %s", stderr)
	}
	return r
}

func (r *clusterRig) stage(s string) *proc {
	p, _ := start(r.t, false, "stage", s, "--nats", r.urls, "--log-format", "json", "--work-dir", r.dir)
	return p
}

// client runs a client command against the whole cluster; it must succeed.
func (r *clusterRig) client(ctx context.Context, args ...string) string {
	r.t.Helper()
	out, stderr, code := run(r.t, ctx, append(args, "--nats", r.urls)...)
	if code != 0 {
		r.t.Fatalf("reel %v: exit %d\n%s", args, code, stderr)
	}
	return out
}

func (r *clusterRig) submit(ctx context.Context, prompt string, seed int) string {
	return lastLine(r.client(ctx, "submit", prompt, "--frames", "32", "--steps", "30", "--seed", fmt.Sprint(seed)))
}

// hash is the job's frames hash from its record, once the record shows the
// job ended: the record is a projection of the events, which after a
// leader election can trail them by longer than watch waits for it.
func (r *clusterRig) hash(ctx context.Context, b *bus.Bus, id string) string {
	r.t.Helper()
	if err := orchestrator.NewStore(b, zerolog.Nop()).Settled(ctx, id); err != nil {
		r.t.Fatalf("job %s: the record never showed its end: %v", id, err)
	}
	return framesHash(jobRecord(r.t, ctx, r.urls, id))
}

// streamLeader is the node leading stream REEL.
func (r *clusterRig) streamLeader(ctx context.Context, b *bus.Bus) *bustest.Node {
	r.t.Helper()
	var leader string
	err := bus.ClientRetry.Do(ctx, zerolog.Nop(), "stream info", func(ctx context.Context) error {
		s, err := b.JS.Stream(ctx, protocol.StreamName)
		if err != nil {
			return err
		}
		info := s.CachedInfo()
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return jetstream.ErrNoHeartbeat // no leader yet: transient
		}
		leader = info.Cluster.Leader
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return r.c.Node(leader)
}

// Issue 13 item 8 and the three-node must-show: kill -9 of the JetStream
// meta leader, then of stream REEL's leader, mid-job; a node frozen
// (SIGSTOP) past the election timeout; nodes restarted. The jobs complete
// with frames identical to a fault-free run, `watch`, `status`, `get` and
// `submit` ride through the elections (before the client retry policy,
// status exited at once with "JetStream is not available"), and every
// subject holds exactly one message.
func TestThreeNodeClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("three-node cluster: not in -short")
	}
	r := newClusterRig(t, "10s")
	procs := map[string]*proc{}
	for _, s := range []string{"textenc", "denoise", "vaedecode", "encode"} {
		procs[s] = r.stage(s)
	}
	defer func() {
		if t.Failed() {
			t.Logf("encode:\n%s", tail(procs["encode"].stderr.String(), 4000))
		}
	}()
	ctx := bustest.Ctx(t, 4*time.Minute)
	const prompt = "a red circle moving right"
	b, err := bus.Open(ctx, bus.ConnectConfig{URL: r.urls, Name: t.Name()}, bus.LayoutConfig{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	base := r.submit(ctx, prompt, 7)
	r.client(ctx, "watch", base)
	want := r.hash(ctx, b, base)
	if want == "" {
		t.Fatal("no frames hash in the fault-free job")
	}

	var jobs []string
	var watchers []*proc
	follow := func(id string) {
		jobs = append(jobs, id)
		w, _ := start(t, false, "watch", id, "--nats", r.urls)
		watchers = append(watchers, w)
	}
	follow(r.submit(ctx, prompt, 7))
	follow(r.submit(ctx, prompt, 7))
	if err := watchers[0].stdout.waitFor(ctx, "denoise step 3/"); err != nil {
		t.Fatal(err)
	}

	// 1. kill -9 the meta leader mid-job; a client asks during the election.
	meta := r.c.WaitMetaLeader(time.Minute)
	r.c.Kill(meta)
	r.client(ctx, "status", jobs[0])
	follow(r.submit(ctx, prompt, 7))
	r.c.WaitMetaLeader(time.Minute)
	r.c.Start(meta)
	r.c.WaitHealthy(meta, time.Minute)

	// 2. kill -9 stream REEL's leader.
	sl := r.streamLeader(ctx, b)
	r.c.Kill(sl)
	r.client(ctx, "status", jobs[1])
	r.c.Start(sl)
	r.c.WaitHealthy(sl, time.Minute)

	// 3. freeze a node past the election timeout, then let it go.
	frozen := r.c.WaitMetaLeader(time.Minute)
	r.c.Stop(frozen)
	r.client(ctx, "status", jobs[2])
	follow(r.submit(ctx, prompt, 7))
	time.Sleep(6 * time.Second) // the fault itself: frozen past the ~4 s election timeout
	r.c.Cont(frozen)
	for _, n := range r.c.Nodes {
		r.c.WaitHealthy(n, time.Minute)
	}

	for i, w := range watchers {
		if err := w.wait(ctx); err != nil {
			t.Fatalf("watch %s: %v\n%s\n%s", jobs[i], err, w.stdout, w.stderr)
		}
	}
	for _, id := range jobs {
		if got := r.hash(ctx, b, id); got != want {
			t.Errorf("job %s: frames %s, fault-free %s", id, got, want)
		}
		for _, c := range []struct {
			filter string
			want   uint64
		}{{protocol.PromptSubject(id), 1}, {protocol.TextSubject(id), 1}, {"reel.latent." + id + ".*", 2},
			{"reel.frames." + id + ".*", 2}, {protocol.VideoSubject(id), 1}} {
			if n := clusterMessages(t, ctx, b, c.filter); n != c.want {
				t.Errorf("job %s: %d messages on %s, want %d", id, n, c.filter, c.want)
			}
		}
		if ev := succeededEvents(t, ctx, b, id); ev != 1 {
			t.Errorf("job %s: %d succeeded events, want 1", id, ev)
		}
	}
	if t.Failed() {
		for i, w := range watchers {
			t.Logf("watch %s:\n%s", jobs[i], tail(w.stdout.String(), 600))
		}
	}
	out := filepath.Join(r.dir, "last.mp4")
	r.client(ctx, "get", jobs[len(jobs)-1], "-o", out)
	if list := r.client(ctx, "jobs"); strings.Count(list, "succeeded") != len(jobs)+1 {
		t.Errorf("jobs:\n%s", list)
	}
}

// succeededEvents counts a job's "succeeded" events (a job that succeeded
// twice would have run twice), riding through elections like a client. It
// reads every event on the job's subject of stream REEL_EVENTS one request
// at a time (the next message on the subject from a sequence on), answered
// by the stream's leader: no consumer to create, which right after the
// elections once got "no responders" for a whole minute of retries.
func succeededEvents(t *testing.T, ctx context.Context, b *bus.Bus, id string) int {
	t.Helper()
	subject := protocol.EventSubject(id)
	n := 0
	for seq := uint64(1); ; {
		var m *jetstream.RawStreamMsg
		err := bus.ClientRetry.Do(ctx, zerolog.Nop(), "event", func(ctx context.Context) error {
			var err error
			m, err = b.Events.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
			if bus.IsNotFound(err) {
				m, err = nil, nil // past the last one
			}
			return err
		})
		if err != nil {
			t.Fatalf("events of %s from sequence %d: %v", id, seq, err)
		}
		if m == nil {
			return n
		}
		if strings.Contains(string(m.Data), `"kind":"succeeded"`) {
			n++
		}
		seq = m.Sequence + 1
	}
}

// clusterMessages is messages (main_test.go) riding through elections.
func clusterMessages(t *testing.T, ctx context.Context, b *bus.Bus, filter string) uint64 {
	t.Helper()
	var n uint64
	err := bus.ClientRetry.Do(ctx, zerolog.Nop(), "stream info", func(ctx context.Context) error {
		info, err := b.Stream.Info(ctx, jetstream.WithSubjectFilter(filter))
		if err != nil {
			return err
		}
		n = 0
		for _, c := range info.State.Subjects {
			n += c
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
