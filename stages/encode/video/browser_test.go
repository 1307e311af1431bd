package video

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// chromium finds the browser: $REEL_CHROMIUM, else Debian's /usr/bin/chromium,
// else chromium or chromium-browser on PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("REEL_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	var err error
	for _, name := range []string{"chromium", "chromium-browser"} {
		var p string
		if p, err = exec.LookPath(name); err == nil {
			return p
		}
	}
	missingTool(t, "chromium (BROWSER PLAYBACK CHECK)", "chromium", err)
	return ""
}

// browserPage loads each video, waits for readyState 4 (canplaythrough),
// seeks to the middle of the first frame and paints it into a canvas, then
// writes everything it saw into <pre id=result> for --dump-dom to print.
// It never waits on wall-clock time: each step is driven by a media event,
// and --virtual-time-budget only bounds how long chromium lets them come.
const browserPage = `<!doctype html><html><body>
<pre id="result">pending</pre>
<script>
const srcs = %s;
const out = {};
function done() {
  if (Object.keys(out).length === srcs.length) document.getElementById('result').textContent = JSON.stringify(out);
}
for (const src of srcs) {
  const r = out[src] = undefined;
  const v = document.createElement('video');
  v.muted = true; v.preload = 'auto';
  const res = {ready: 0, duration: 0, errors: [], pixel: null};
  v.addEventListener('error', () => { res.errors.push(v.error ? v.error.code + ':' + v.error.message : 'unknown'); finish(); });
  let finished = false;
  function finish() { if (finished) return; finished = true; out[src] = res; done(); }
  v.addEventListener('canplaythrough', () => {
    res.ready = v.readyState; res.duration = v.duration;
    v.addEventListener('seeked', () => {
      try {
        const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
        const g = c.getContext('2d'); g.drawImage(v, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        res.pixel = {w: c.width, h: c.height, data: Array.from(d)};
      } catch (e) { res.errors.push('canvas:' + e); }
      finish();
    }, {once: true});
    v.currentTime = 0.01;
  }, {once: true});
  v.src = src;
  document.body.appendChild(v);
}
</script></body></html>`

type browserResult struct {
	Ready    int
	Duration float64
	Errors   []string
	Pixel    *struct {
		W, H int
		Data []int
	}
}

// TestBrowserPlayback: headless Chromium plays both encoders' output to
// readyState 4 with the right duration, no media error, and a first frame
// whose pixels match what went in.
func TestBrowserPlayback(t *testing.T) {
	browser := chromium(t)
	needTool(t, "ffmpeg")
	const n = 48
	frames := synthFrames(n, tw, th)
	dir := t.TempDir()
	files := map[string]string{}
	for _, enc := range []string{EncoderFFmpeg, EncoderPureGo} {
		o := Options{Width: tw, Height: th, FPS: tfps, SeamBlend: -1}
		if enc == EncoderPureGo {
			o.FFmpeg = "none"
		}
		p := fmt.Sprintf("%s/%s.mp4", dir, enc)
		var logBuf bytes.Buffer
		if res := encode(t, context.Background(), p, o, frames, testLog(&logBuf)); res.Encoder != enc {
			t.Fatalf("got encoder %s, want %s", res.Encoder, enc)
		}
		files["/"+enc+".mp4"] = p
	}
	srcs := []string{"/" + EncoderFFmpeg + ".mp4", "/" + EncoderPureGo + ".mp4"}
	srcJSON, _ := json.Marshal(srcs)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if p, ok := files[r.URL.Path]; ok {
			http.ServeFile(w, r, p) // video/mp4 with range support, as a real server would
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, browserPage, srcJSON)
	})
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio",
		"--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=10000", "--dump-dom", srv.URL+"/")
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(stderr.String(), 2000))
	}
	m := regexp.MustCompile(`(?s)<pre id="result">(.*?)</pre>`).FindSubmatch(out)
	if m == nil || string(m[1]) == "pending" {
		t.Fatalf("page did not finish; DOM:\n%s\nstderr:\n%s", tail(string(out), 2000), tail(stderr.String(), 2000))
	}
	var results map[string]browserResult
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &results); err != nil {
		t.Fatalf("result %q: %v", m[1], err)
	}
	for _, src := range srcs {
		r := results[src]
		t.Logf("%s: readyState %d duration %.3f errors %v", src, r.Ready, r.Duration, r.Errors)
		if len(r.Errors) > 0 {
			t.Errorf("%s: media error %v", src, r.Errors)
			continue
		}
		if r.Ready != 4 {
			t.Errorf("%s: readyState %d, want 4", src, r.Ready)
		}
		if want := float64(n) / tfps; math.Abs(r.Duration-want) > 1e-3 {
			t.Errorf("%s: duration %.4f, want %.4f", src, r.Duration, want)
		}
		if r.Pixel == nil || r.Pixel.W != tw || r.Pixel.H != th || len(r.Pixel.Data) != tw*th*4 {
			t.Errorf("%s: no first frame painted", src)
			continue
		}
		// The browser's YUV→RGB is its own (and 4:2:0 smears chroma at the
		// shapes' edges), so compare on average, not per pixel.
		var sum float64
		for i := 0; i < tw*th; i++ {
			for c := 0; c < 3; c++ {
				sum += math.Abs(float64(r.Pixel.Data[4*i+c]) - float64(frames[3*i+c]))
			}
		}
		if mae := sum / (tw * th * 3); mae > 10 {
			t.Errorf("%s: first frame mean abs error %.2f vs source, want ≤ 10", src, mae)
		} else {
			t.Logf("%s: first frame mean abs error %.2f", src, mae)
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
