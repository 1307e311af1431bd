package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus/bustest"
)

// reel extend and reel remix against a real server with every stage: each
// prints the new job's id last, the job succeeds and its record names its
// parent; bad flags are refused before connecting, an unknown parent after.
func TestExtendRemixCommands(t *testing.T) {
	ctx := bustest.Ctx(t, 3*time.Minute)
	_, url := start(t, true, "server", "--port", "-1", "--data", filepath.Join(t.TempDir(), "data"), "--replicas", "all")
	out, stderr, code := run(t, ctx, "submit", "a red circle moving right", "--frames", "16", "--steps", "2", "--nats", url)
	if code != 0 {
		t.Fatalf("submit: exit %d\n%s", code, stderr)
	}
	parent := lastLine(out)
	if _, stderr, code := run(t, ctx, "watch", parent, "--nats", url); code != 0 {
		t.Fatalf("watch: exit %d\n%s", code, stderr)
	}
	for _, c := range []struct {
		args []string
		link string
	}{
		{[]string{"extend", parent, "--frames", "16", "--seed", "3", "--watch"}, "extend_of"},
		{[]string{"remix", parent, "--prompt", "a blue circle moving right", "--strength", "0.5", "--watch"}, "remix_of"},
	} {
		out, stderr, code := run(t, ctx, append(c.args, "--nats", url)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", c.args, code, stderr)
		}
		j := jobRecord(t, ctx, url, lastLine(out))
		if j["state"] != "succeeded" || j["parent"] != parent || j[c.link] != parent {
			t.Errorf("%s: record state %v parent %v %s %v", c.args[0], j["state"], j["parent"], c.link, j[c.link])
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"extend", parent, "--frames", "20"}, "--frames 20: want a positive multiple of 16"},
		{[]string{"remix", parent, "--prompt", "x", "--strength", "1.5"}, "--strength 1.5"},
		{[]string{"remix", parent}, "--prompt is required"},
		{[]string{"extend", "no-such-job", "--frames", "16", "--nats", url}, "job not found"},
	} {
		if _, stderr, code := run(t, ctx, c.args...); code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q: want it to say %q", c.args, code, stderr, c.want)
		}
	}
}
