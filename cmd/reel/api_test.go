package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/internal/tooltest"
)

// conformanceDir holds the npm OpenAI SDK client (scripts/test.sh installs
// its node_modules).
const conformanceDir = "../../conformance/openai"

// needSDK returns node and checks the SDK is installed, skipping loudly
// (failing in CI) otherwise.
func needSDK(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(conformanceDir, "node_modules", "openai", "package.json"))
	}
	if err != nil {
		tooltest.Missing(t, "node and the openai npm package", "run `npm ci` in conformance/openai (scripts/test.sh does)", err)
	}
	return node
}

// apiURL waits for the http:// line `reel server --api` prints.
func apiURL(t *testing.T, p *proc) string {
	t.Helper()
	ctx := bustest.Ctx(t, time.Minute)
	if err := p.stdout.waitFor(ctx, "http://"); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr)
	}
	return regexp.MustCompile(`http://\S+`).FindString(p.stdout.String())
}

// The official OpenAI Node SDK, unmodified, against a real `reel server`
// with every stage in-process: create → poll → download the MP4 (ffprobe:
// h264, 32 frames for 4 seconds at 8 fps) and the PNG thumbnail → remix it
// (videos.remix: 32 frames, remixed_from_video_id the parent) and extend
// it by 2 seconds (videos.extend: 48 frames, 6 seconds, linked to the
// parent), both polled until completed → list → delete → 404; a bad size
// or seconds is a 400 naming the field; another key gets a 404 for the
// video and for a remix or extension of it, and no key a 401.
func TestOpenAINodeSDK(t *testing.T) {
	node := needSDK(t)
	dir := t.TempDir()
	srv, _ := start(t, true, "server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--replicas", "all",
		"--api", "127.0.0.1:0", "--api-key", "key-one", "--api-key", "key-two", "--log-format", "json")
	base := apiURL(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "videos.mjs")
	cmd.Dir = conformanceDir
	cmd.Env = append(os.Environ(), "REEL_API_URL="+base+"/v1", "REEL_API_KEY=key-one", "REEL_API_KEY2=key-two", "OUT_DIR="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node videos.mjs: %v\n%s\nserver:\n%s", err, stderr.String(), tail(srv.stderr.String(), 4000))
	}
	var seen struct {
		BadSize      struct{ Status int }
		Progress     []int
		Completed    struct{ Progress int }
		OtherKey     struct{ Status int }
		NoKey        int
		AfterDelete  struct{ Status int }
		ContentTypes []string
		ID           string
		Remix        derivedSeen
		Extension    derivedSeen
	}
	if err := json.Unmarshal(stdout.Bytes(), &seen); err != nil {
		t.Fatalf("sdk output %q: %v", stdout.String(), err)
	}
	t.Logf("sdk saw: %s", strings.TrimSpace(stdout.String()))
	p := bustest.FFprobe(t, filepath.Join(dir, "video.mp4"))
	if want := (bustest.Probe{Codec: "h264", PixFmt: "yuv420p", Size: "64x64", Rate: "8/1", Frames: "32"}); p != want {
		t.Errorf("ffprobe: got %+v, want %+v", p, want)
	}
	for _, c := range []struct {
		name    string
		got     derivedSeen
		frames  string
		seconds string
		remixOf string
	}{{"remix", seen.Remix, "32", "4", seen.ID}, {"extension", seen.Extension, "48", "6", ""}} {
		p := bustest.FFprobe(t, filepath.Join(dir, c.name+".mp4"))
		if want := (bustest.Probe{Codec: "h264", PixFmt: "yuv420p", Size: "64x64", Rate: "8/1", Frames: c.frames}); p != want {
			t.Errorf("%s ffprobe: got %+v, want %+v", c.name, p, want)
		}
		remixOf := ""
		if c.got.RemixedFrom != nil {
			remixOf = *c.got.RemixedFrom
		}
		if c.got.ID == "" || c.got.ID == seen.ID || c.got.Parent != seen.ID || remixOf != c.remixOf || c.got.Seconds != c.seconds || strconv.Itoa(c.got.Frames) != c.frames {
			t.Errorf("%s: %+v (remixed from %q), want parent %s, %s s, %s frames", c.name, c.got, remixOf, seen.ID, c.seconds, c.frames)
		}
	}
	png, err := os.ReadFile(filepath.Join(dir, "thumbnail.png"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("thumbnail is not a PNG (%d bytes, %v)", len(png), err)
	}
	if want := []string{"video/mp4", "image/png"}; strings.Join(seen.ContentTypes, ",") != strings.Join(want, ",") {
		t.Errorf("content types %v, want %v", seen.ContentTypes, want)
	}
	for i := 1; i < len(seen.Progress); i++ {
		if seen.Progress[i] < seen.Progress[i-1] {
			t.Errorf("progress went back: %v", seen.Progress)
			break
		}
	}
}

// derivedSeen is what the SDK script saw of a remix or an extension.
type derivedSeen struct {
	ID          string  `json:"id"`
	Seconds     string  `json:"seconds"`
	RemixedFrom *string `json:"remixed_from_video_id"`
	Parent      string  `json:"parent"`
	Frames      int     `json:"frames"`
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// `reel gateway` serves the API for a bus it does not run: a bare server
// plus a gateway answers /readyz and lists the model; an API beyond
// loopback without a key refuses to start, naming what to set.
func TestGateway(t *testing.T) {
	_, url := start(t, true, "server", "--port", "-1", "--data", t.TempDir())
	gw, _ := start(t, false, "gateway", "--nats", url, "--api", "127.0.0.1:0", "--api-key", "gw-key", "--log-format", "json")
	base := apiURL(t, gw)
	if got := status(base + "/readyz"); got != 200 {
		t.Errorf("gateway /readyz: %d", got)
	}
	if got := status(base + "/v1/models"); got != 401 {
		t.Errorf("gateway /v1/models without a key: %d", got)
	}
	if got := status(base + "/metrics"); got != 200 {
		t.Errorf("gateway /metrics: %d", got)
	}
	ctx := bustest.Ctx(t, time.Minute)
	for _, args := range [][]string{
		{"gateway", "--nats", url, "--api", "0.0.0.0:0"},
		{"server", "--port", "-1", "--data", t.TempDir(), "--api", "0.0.0.0:0"},
	} {
		_, stderr, code := run(t, ctx, args...)
		if code == 0 || !strings.Contains(stderr, "refusing to serve the API beyond loopback without an API key") || !strings.Contains(stderr, "REEL_API_KEYS") {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
	}
}

// A bare server warns when a job waits for a stage with no live worker,
// saying how to start one.
func TestServerWarnsIdleStage(t *testing.T) {
	srv, url := start(t, true, "server", "--port", "-1", "--data", t.TempDir(), "--log-format", "json")
	ctx := bustest.Ctx(t, time.Minute)
	if _, stderr, code := run(t, ctx, "submit", "a", "purple", "square", "--nats", url); code != 0 {
		t.Fatalf("submit of an unquoted prompt: %s", stderr)
	}
	if err := srv.stderr.waitFor(ctx, "wait for stage textenc, which has no live worker: start one with 'reel stage textenc --nats "+url); err != nil {
		t.Fatalf("%v\n%s", err, srv.stderr)
	}
	out, _, _ := run(t, ctx, "jobs", "--nats", url)
	if !strings.Contains(out, "a purple square") {
		t.Errorf("the unquoted words were not joined into one prompt:\n%s", out)
	}
}
