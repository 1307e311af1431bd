package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/internal/tooltest"
)

// nodeResult is one line of conformance/node/client.mjs.
type nodeResult struct {
	Job          string   `json:"job"`
	Encoding     string   `json:"encoding"`
	Kind         string   `json:"kind"`
	Error        string   `json:"error"`
	Object       string   `json:"object"`
	SHA256       string   `json:"sha256"`
	FramesSHA256 string   `json:"frames_sha256"`
	Events       []string `json:"events"`
}

// A client not written in Go, following only docs/protocol.md, against a
// real `reel server`: a msgpack and a JSON prompt succeed and their MP4s
// (fetched from the object store) are the bytes `reel get` writes; a prompt
// with a wrong field type fails with a reason naming the field.
func TestNodeConformanceClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (scripts/test.sh installs the client's packages when node is there)")
	}
	clientDir, err := filepath.Abs("../../conformance/node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(clientDir, "node_modules", "nats")); err != nil {
		tooltest.Missing(t, "the Node conformance client's npm packages", "run `npm ci` in conformance/node (scripts/test.sh does)", err)
	}
	dir := t.TempDir()
	_, url := start(t, true, "server", "--port", "-1", "--data", filepath.Join(dir, "data"), "--replicas", "all", "--log-format", "json")
	ctx := bustest.Ctx(t, 3*time.Minute)
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = clientDir
	cmd.Env = append(os.Environ(), "NATS_URL="+url, "PREFIX=node")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node client: %v\n%s\n%s", err, out, stderr)
	}
	t.Logf("node client:\n%s", out)
	results := map[string]nodeResult{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r nodeResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("node client printed %q: %v", sc.Text(), err)
		}
		results[r.Job] = r
	}
	var frames []string
	for _, job := range []string{"node-msgpack", "node-json"} {
		r, ok := results[job]
		if !ok || r.Kind != "succeeded" || r.SHA256 == "" {
			t.Fatalf("%s: %+v\n%s", job, r, out)
		}
		if !slices.Contains(r.Events, "submitted") {
			t.Errorf("%s: no submitted event in %v", job, r.Events)
		}
		mp4 := filepath.Join(dir, job+".mp4")
		if _, stderr, code := run(t, ctx, "get", job, "-o", mp4, "--nats", url); code != 0 {
			t.Fatalf("get %s: %d %s", job, code, stderr)
		}
		data, err := os.ReadFile(mp4)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != r.SHA256 {
			t.Errorf("%s: node fetched sha256 %s, reel get wrote %x", job, r.SHA256, sum)
		}
		frames = append(frames, r.FramesSHA256)
	}
	// The same prompt and settings in either encoding: the same frames.
	if frames[0] != frames[1] {
		t.Errorf("msgpack and JSON prompts made different frames: %s, %s", frames[0], frames[1])
	}
	bad := results["node-bad"]
	if bad.Kind != "failed" || !strings.Contains(bad.Error, "prompt: want a string, got int") {
		t.Fatalf("malformed prompt: %+v", bad)
	}
	status, _, _ := run(t, ctx, "status", "node-bad", "--nats", url)
	if !strings.Contains(status, "failed") || !strings.Contains(status, "prompt: want a string, got int") {
		t.Fatalf("status of the malformed job:\n%s", status)
	}
}
