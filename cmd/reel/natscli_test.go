package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/internal/tooltest"
)

// natsCLI is the stock nats CLI (github.com/nats-io/natscli): the one on
// PATH, else one installed with `go install` at the version scripts/test.sh
// installs, into a cache directory of this user.
func natsCLI(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nats"); err == nil {
		return p
	}
	v, err := os.ReadFile("../../scripts/natscli.version")
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(v))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	gobin := filepath.Join(cache, "reel", "natscli-"+version)
	bin := filepath.Join(gobin, "nats")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "github.com/nats-io/natscli/nats@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		tooltest.Missing(t, "the nats CLI "+version, "go install github.com/nats-io/natscli/nats (scripts/test.sh does)", fmt.Errorf("%w: %s", err, out))
	}
	return bin
}

// A JSON prompt published with the stock nats CLI is a job: reel watch
// exits 0, reel status shows it succeeded, reel get writes the MP4, and its
// frames are those of reel generate with the same prompt and seed.
func TestNatsCLIPrompt(t *testing.T) {
	nats := natsCLI(t)
	dir := t.TempDir()
	ctx := bustest.Ctx(t, 3*time.Minute)
	const prompt = "a red circle moving right"

	gen := filepath.Join(dir, "gen")
	_, stderr, code := run(t, ctx, "generate", prompt, "--seed", "4", "--data", gen, "-o", filepath.Join(dir, "gen.mp4"))
	if code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	genID := strings.TrimPrefix(strings.SplitN(stderr, "\n", 2)[0], "job ")
	genSrv, genURL := start(t, true, "server", "--port", "-1", "--data", gen)
	want := framesHash(jobRecord(t, ctx, genURL, genID))
	genSrv.stop(t)
	if want == "" {
		t.Fatalf("generate's job %s has no frames hash", genID)
	}

	_, url := start(t, true, "server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--replicas", "all", "--log-format", "json")
	const job = "natscli-1"
	pub := exec.CommandContext(ctx, nats, "-s", url, "pub", "reel.prompt."+job, `{"prompt":"`+prompt+`","settings":{"seed":4}}`)
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("nats pub: %v\n%s", err, out)
	}
	if _, stderr, code := run(t, ctx, "watch", job, "--nats", url); code != 0 {
		t.Fatalf("watch: exit %d\n%s", code, stderr)
	}
	status, _, code := run(t, ctx, "status", job, "--nats", url)
	if code != 0 || !strings.HasPrefix(status, "job "+job+" succeeded") {
		t.Fatalf("status: %d\n%s", code, status)
	}
	mp4 := filepath.Join(dir, job+".mp4")
	if _, stderr, code := run(t, ctx, "get", job, "-o", mp4, "--nats", url); code != 0 {
		t.Fatalf("get: %d %s", code, stderr)
	}
	if fi, err := os.Stat(mp4); err != nil || fi.Size() == 0 {
		t.Fatalf("get wrote no MP4: %v", err)
	}
	if got := framesHash(jobRecord(t, ctx, url, job)); got != want {
		t.Fatalf("frames sha256 %s, reel generate made %s", got, want)
	}
	// A second prompt on the same job id is refused by the server itself.
	again := exec.CommandContext(ctx, nats, "-s", url, "pub", "--jetstream", "reel.prompt."+job, `{"prompt":"another"}`)
	if out, err := again.CombinedOutput(); err == nil || !strings.Contains(string(out), "maximum messages per subject exceeded") {
		t.Fatalf("second nats pub --jetstream: %v\n%s", err, out)
	}
}
