package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/reel-video/reel/bus/bustest"
)

// scrape parses /metrics with the Prometheus text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// value is a counter or gauge with the given labels, or a histogram's
// sample count; -1 when the series is absent.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// waitFor polls cond (a scrape, a probe) until it holds.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// After a job through the API, /metrics (parsed by the Prometheus text
// parser) shows the job counters moved, and one handle-duration sample per
// stage message, one step sample per denoise step, one decode sample per
// chunk.
func TestMetricsAfterJob(t *testing.T) {
	dir := t.TempDir()
	srv, _ := start(t, true, "server", "--port", "-1", "--data", dir, "--replicas", "all", "--api", "127.0.0.1:0", "--log-format", "json")
	base := apiURL(t, srv)
	before := scrape(t, base+"/metrics")
	if v := value(before, "reel_jobs_ended_total", "state", "succeeded"); v > 0 {
		t.Fatalf("jobs ended before any job: %v", v)
	}
	resp, err := http.Post(base+"/v1/videos", "application/json", strings.NewReader(`{"prompt":"a green triangle moving left","seconds":"4","steps":5}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	ctx := bustest.Ctx(t, 2*time.Minute)
	var after map[string]*dto.MetricFamily
	waitFor(t, ctx, "the job to be counted", func() bool {
		after = scrape(t, base+"/metrics")
		return value(after, "reel_jobs_ended_total", "state", "succeeded") == 1
	})
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"reel_jobs", []string{"state", "succeeded"}, 1},
		{"reel_job_seconds", nil, 1},
		{"reel_denoise_step_seconds", nil, 5},
		{"reel_chunk_decode_seconds", nil, 2},
		{"reel_stage_handle_seconds", []string{"stage", "textenc", "outcome", "ok"}, 1},
		{"reel_stage_handle_seconds", []string{"stage", "denoise", "outcome", "ok"}, 1},
		{"reel_stage_handle_seconds", []string{"stage", "vaedecode", "outcome", "ok"}, 2},
		{"reel_stage_handle_seconds", []string{"stage", "encode", "outcome", "ok"}, 1},
		{"reel_stage_in_flight", []string{"stage", "denoise"}, 0},
		{"reel_consumer_pending_messages", []string{"stage", "vaedecode"}, 0},
		{"reel_dead_letters", nil, 0},
		{"reel_bus_up", nil, 1},
	}
	for _, c := range checks {
		if got := value(after, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// A stage process's /readyz fails while its NATS server is down and
// recovers once it is back; /healthz stays up throughout.
func TestStageReadinessFollowsServer(t *testing.T) {
	dir := t.TempDir()
	srv, url := start(t, true, "server", "--port", "-1", "--data", dir, "--log-format", "json")
	port := url[strings.LastIndex(url, ":")+1:]
	st, _ := start(t, false, "stage", "encode", "--nats", url, "--metrics", "127.0.0.1:0", "--log-format", "json", "--work-dir", t.TempDir())
	ctx := bustest.Ctx(t, 2*time.Minute)
	if err := st.stdout.waitFor(ctx, "metrics http://"); err != nil {
		t.Fatalf("%v\n%s", err, st.stderr)
	}
	probe := regexp.MustCompile(`metrics (http://\S+)`).FindStringSubmatch(st.stdout.String())[1]
	ready := func(want int) func() bool { return func() bool { return status(probe+"/readyz") == want } }
	waitFor(t, ctx, "ready", ready(200))
	if fams := scrape(t, probe+"/metrics"); value(fams, "reel_consumer_pending_messages", "stage", "encode") != 0 {
		t.Errorf("stage metrics lack its consumer: %v", fams["reel_consumer_pending_messages"])
	}

	_ = srv.cmd.Process.Kill()
	_ = srv.wait(ctx)
	waitFor(t, ctx, "not ready with the server down", ready(http.StatusServiceUnavailable))
	if got := status(probe + "/healthz"); got != 200 {
		t.Errorf("healthz with the server down: %d", got)
	}
	start(t, true, "server", "--port", port, "--data", dir, "--log-format", "json")
	waitFor(t, ctx, "ready again", ready(200))
}
