package mem

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/model"
)

// TestVAEMemory is the seed problem, measured: the VAE stage's peak RSS
// decoding 16, 48, 192 and 768 frames chunk by chunk, against decoding the
// whole latent in one call. Every cell is a fresh child process that loads
// the engine and decodes random-normal latents. Opt-in (about 30 s, and
// the 768-frame whole-latent decode needs about 0.8 GiB):
//
//	REEL_MEM_BENCH=1 go test -run TestVAEMemory -v ./internal/mem
//
// "chunked" is the stage as it runs: one chunk per message, its frames
// handed on and dropped, default GC (GOGC=100, no limit). "chunked, limit"
// is the same with the Go memory limit set from the estimate
// (Estimate.MemoryLimit, what a VAE worker should set); "chunked + GC" runs
// runtime.GC() after each chunk instead.
func TestVAEMemory(t *testing.T) {
	if !envconfig.Bool(envconfig.MemBench) {
		t.Skip("set REEL_MEM_BENCH=1 (about 30 s)")
	}
	m, arch := loadedModel(t, model.Options{})
	e := Default(arch).WithRuntime(measure(t, "idle:0:0").Peak)
	avail := memAvailable(t)
	frames := []int{16, 48, 192, 768}
	type row struct {
		frames                    int
		chunked, limit, gc, whole measured
		wholeSkipped              string
		wholeEst                  Estimate
	}
	var rows []row
	for _, f := range frames {
		r := row{frames: f, wholeEst: e.DecodeWhole(m, f)}
		r.chunked = measure(t, fmt.Sprintf("chunked:%d:0", f))
		r.gc = measure(t, fmt.Sprintf("chunked-gc:%d:0", f))
		r.limit = measure(t, fmt.Sprintf("chunked-limit:%d:%d", f, e.DecodeChunk(m).MemoryLimit()/MiB))
		// Cap: the machine is shared; never take more than a quarter of
		// what is available.
		if need := r.wholeEst.Peak * 5 / 4; need > avail/4 {
			r.wholeSkipped = fmt.Sprintf("skipped: needs about %s, a quarter of available memory is %s", FormatSize(need), FormatSize(avail/4))
		} else {
			r.whole = measure(t, fmt.Sprintf("whole:%d:0", f))
		}
		rows = append(rows, r)
	}

	var b strings.Builder
	mib := func(n int64) string { return fmt.Sprintf("%.1f", float64(n)/float64(MiB)) }
	fmt.Fprintf(&b, "| frames | chunked, Go memory limit %d MiB | chunked + runtime.GC per chunk | chunked, default GC | whole latent | whole latent, estimated | whole / chunked with limit | seconds: limit / GC / default / whole |\n",
		e.DecodeChunk(m).MemoryLimit()/MiB)
	fmt.Fprintf(&b, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		whole, ratio, ws := r.wholeSkipped, "-", "-"
		if r.wholeSkipped == "" {
			whole, ratio = mib(r.whole.Peak), fmt.Sprintf("%.1f×", float64(r.whole.Peak)/float64(r.limit.Peak))
			ws = fmt.Sprintf("%.1f", r.whole.Seconds)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %.1f / %.1f / %.1f / %s |\n", r.frames, mib(r.limit.Peak), mib(r.gc.Peak),
			mib(r.chunked.Peak), whole, mib(r.wholeEst.Peak), ratio, r.limit.Seconds, r.gc.Seconds, r.chunked.Seconds, ws)
	}
	first, last := rows[0], rows[len(rows)-1]
	fmt.Fprintf(&b, "\nPeak RSS in MiB. 768 / 16 frames: chunked with limit %.2f×, chunked + GC %.2f×, chunked default %.2f×",
		float64(last.limit.Peak)/float64(first.limit.Peak), float64(last.gc.Peak)/float64(first.gc.Peak), float64(last.chunked.Peak)/float64(first.chunked.Peak))
	if last.wholeSkipped == "" {
		fmt.Fprintf(&b, ", whole latent %.2f×", float64(last.whole.Peak)/float64(first.whole.Peak))
	}
	fmt.Fprintf(&b, ".\nEstimated chunked peak: %s MiB with the limit, %s MiB default (any length); resident after load: %s MiB.\n",
		mib(e.DecodeChunk(m).Bounded().Peak), mib(e.DecodeChunk(m).Peak), mib(first.limit.Resident))
	t.Log("\n" + b.String())

	for _, c := range []struct {
		name        string
		first, last measured
	}{{"chunked with limit", first.limit, last.limit}, {"chunked + GC", first.gc, last.gc}} {
		if r := float64(c.last.Peak) / float64(c.first.Peak); r > 1.25 {
			t.Errorf("%s: 768 frames peak %.2f× the 16-frame peak, want ≤ 1.25×", c.name, r)
		}
	}
	if last.chunked.Peak > e.DecodeChunk(m).Peak*5/4 {
		t.Errorf("chunked: 768 frames peak %s above the length-independent estimate %s + 25%%", FormatSize(last.chunked.Peak), FormatSize(e.DecodeChunk(m).Peak))
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].wholeSkipped == "" && rows[i].whole.Peak <= rows[i-1].whole.Peak {
			t.Errorf("whole latent: %d frames peak %s not above %d frames' %s", rows[i].frames, FormatSize(rows[i].whole.Peak), rows[i-1].frames, FormatSize(rows[i-1].whole.Peak))
		}
	}
}

// memAvailable reads MemAvailable from /proc/meminfo.
func memAvailable(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			n, err := kBytes(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no MemAvailable in /proc/meminfo")
	return 0
}
