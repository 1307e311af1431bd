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
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/reel-video/reel/internal/tooltest"
)

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

// browserCase is one video on the test page.
type browserCase struct {
	enc        string
	w, h, n    int
	frames     []byte
	src, label string
}

// TestBrowserPlayback: headless Chromium plays both encoders' output
// (48 and 16 frames; 40×24 exercises the pure-Go SPS cropping) to
// readyState 4 with the right duration, no media error, and a first frame
// whose pixels match what went in.
func TestBrowserPlayback(t *testing.T) {
	browser := tooltest.Chromium(t)
	needTool(t, "ffmpeg")
	cases := []*browserCase{
		{enc: EncoderFFmpeg, w: tw, h: th, n: 48},
		{enc: EncoderPureGo, w: tw, h: th, n: 48},
		{enc: EncoderFFmpeg, w: tw, h: th, n: 16},
		{enc: EncoderPureGo, w: 40, h: 24, n: 16},
	}
	dir := t.TempDir()
	files := map[string]string{}
	var srcs []string
	for _, c := range cases {
		c.frames = synthFrames(c.n, c.w, c.h)
		o := Options{Width: c.w, Height: c.h, FPS: tfps, SeamBlend: -1}
		if c.enc == EncoderPureGo {
			o.FFmpeg = "none"
		}
		c.label = fmt.Sprintf("%s-%dx%d-%d", c.enc, c.w, c.h, c.n)
		c.src = "/" + c.label + ".mp4"
		p := dir + c.src
		var logBuf bytes.Buffer
		if res := encode(t, context.Background(), p, o, c.frames, testLog(&logBuf)); res.Encoder != c.enc {
			t.Fatalf("got encoder %s, want %s", res.Encoder, c.enc)
		}
		files[c.src] = p
		srcs = append(srcs, c.src)
	}
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
	for _, c := range cases {
		r := results[c.src]
		t.Logf("%s: readyState %d duration %.3f errors %v", c.label, r.Ready, r.Duration, r.Errors)
		if len(r.Errors) > 0 {
			t.Errorf("%s: media error %v", c.label, r.Errors)
			continue
		}
		if r.Ready != 4 {
			t.Errorf("%s: readyState %d, want 4", c.label, r.Ready)
		}
		if want := float64(c.n) / tfps; math.Abs(r.Duration-want) > 1e-3 {
			t.Errorf("%s: duration %.4f, want %.4f", c.label, r.Duration, want)
		}
		if r.Pixel == nil || r.Pixel.W != c.w || r.Pixel.H != c.h || len(r.Pixel.Data) != c.w*c.h*4 {
			t.Errorf("%s: no %dx%d first frame painted", c.label, c.w, c.h)
			continue
		}
		// The browser's YUV→RGB is its own, and 4:2:0 smears the synthetic
		// frames' sharp colour edges (ffmpeg's own decode of the same files
		// is about 5 off too), so compare on average with headroom for other
		// Chromium versions: a garbled, shifted or wrong picture is far above.
		var sum float64
		for i := 0; i < c.w*c.h; i++ {
			for ch := 0; ch < 3; ch++ {
				sum += math.Abs(float64(r.Pixel.Data[4*i+ch]) - float64(c.frames[3*i+ch]))
			}
		}
		if mae := sum / float64(c.w*c.h*3); mae > 12 {
			t.Errorf("%s: first frame mean abs error %.2f vs source, want ≤ 12", c.label, mae)
		} else {
			t.Logf("%s: first frame mean abs error %.2f", c.label, mae)
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
