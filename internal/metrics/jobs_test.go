package metrics

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
)

// WatchJobs on real job records: jobs present at start count by state but
// not as ended; live transitions move the gauges, count the end once and
// observe the latency; a deleted record leaves the gauge.
func TestWatchJobs(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	ctx := bustest.Ctx(t, 30*time.Second)
	put := func(id string, st protocol.State, created time.Time, finished *time.Time) {
		t.Helper()
		data, _ := json.Marshal(jobRecord{State: st, Created: created, Finished: finished})
		if _, err := b.Jobs.Put(ctx, id, data); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().UTC()
	put("old", protocol.StateSucceeded, t0.Add(-time.Hour), &t0)
	m := New()
	if err := m.WatchJobs(ctx, b.Jobs); err != nil {
		t.Fatal(err)
	}
	gauge := func(st protocol.State) float64 { return testutil.ToFloat64(m.jobs.WithLabelValues(string(st))) }
	ended := func(st protocol.State) float64 { return testutil.ToFloat64(m.jobsEnded.WithLabelValues(string(st))) }
	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("timed out: %s", what)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	wait("initial record", func() bool { return gauge(protocol.StateSucceeded) == 1 })
	put("new", protocol.StateQueued, t0, nil)
	wait("queued", func() bool { return gauge(protocol.StateQueued) == 1 })
	put("new", protocol.StateRunning, t0, nil)
	wait("running", func() bool { return gauge(protocol.StateRunning) == 1 && gauge(protocol.StateQueued) == 0 })
	fin := t0.Add(3 * time.Second)
	put("new", protocol.StateSucceeded, t0, &fin)
	wait("succeeded", func() bool { return gauge(protocol.StateSucceeded) == 2 && gauge(protocol.StateRunning) == 0 })
	if got := ended(protocol.StateSucceeded); got != 1 {
		t.Errorf("ended succeeded = %v, want 1 (the job present at start is not counted)", got)
	}
	if n := testutil.CollectAndCount(m.reg, "reel_job_seconds"); n != 1 {
		t.Errorf("reel_job_seconds series %d", n)
	}
	if err := b.Jobs.Delete(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	wait("deleted", func() bool { return gauge(protocol.StateSucceeded) == 1 })
}
