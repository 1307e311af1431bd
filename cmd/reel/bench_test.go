package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
)

// reel bench --json runs real generations on the built-in engine and
// reports each run's phases, which add up to its total, and the peak RSS.
func TestBenchJSON(t *testing.T) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"bench", "--runs", "2", "--frames", "16", "--steps", "2", "--json"})
	if err := root.ExecuteContext(bustest.Ctx(t, 60*time.Second)); err != nil {
		t.Fatalf("reel bench: %v\n%s", err, out.String())
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out.String())
	}
	if len(rep.Runs) != 2 || rep.Frames != 16 || rep.Steps != 2 || rep.DiT != "fp8" || rep.PeakRSS <= 0 {
		t.Fatalf("report %+v", rep)
	}
	for i, r := range rep.Runs {
		sum := r.TextS + r.StepsS + r.DecodeS
		if r.TextS <= 0 || r.StepsS <= 0 || r.DecodeS <= 0 || sum > r.TotalS*1.0001 || sum < r.TotalS*0.99 {
			t.Errorf("run %d: phases %+v do not add up to the total", i, r)
		}
	}
}

// reel bench refuses a frame count the model cannot make, before timing.
func TestBenchRefusesFrames(t *testing.T) {
	err := execute(t, "bench", "--frames", "20", "--runs", "1")
	if err == nil || !strings.Contains(err.Error(), "frames 20") {
		t.Fatalf("err = %v, want the frames refused", err)
	}
}
