package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/reel-video/reel/bus/bustest"
)

// execute runs the root command in this process and returns its error.
func execute(t *testing.T, args ...string) error {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	return root.ExecuteContext(bustest.Ctx(t, 30*time.Second))
}

// Client commands refuse what needs no server before connecting: the URL
// points at a closed port, so a check done after connecting would report
// the connection instead.
func TestClientCommandsCheckBeforeConnecting(t *testing.T) {
	const closed = "nats://127.0.0.1:1"
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"submit frames":      {[]string{"submit", "a red circle moving right", "--frames", "20"}, "frames: 20"},
		"get what":           {[]string{"get", "j1", "--what", "thumb"}, `--what "thumb"`},
		"replay stage":       {[]string{"replay", "--stage", "nope", "--job", "j1"}, "--stage"},
		"replay set":         {[]string{"replay", "--stage", "encode", "--job", "j1", "--set", "fps"}, `--set "fps"`},
		"replay job + since": {[]string{"replay", "--stage", "encode", "--job", "j1", "--since", "1h"}, "either --job or --since"},
		"replay until":       {[]string{"replay", "--stage", "encode", "--job", "j1", "--until", "1h"}, "--until goes with --since"},
		"replay watch":       {[]string{"replay", "--stage", "encode", "--since", "1h", "--watch"}, "--watch goes with --job"},
		"replay since":       {[]string{"replay", "--stage", "encode", "--since", "yesterday"}, "--since"},
		"connects otherwise": {[]string{"status", "j1"}, "nats: connect nats://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			err := execute(t, append(c.args, "--nats", closed)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestShortenCountsCharacters(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"a red circle moving right", 40, "a red circle moving right"},
		{"a red circle moving right", 10, "a red c..."},
		{"一个橙色的正方形向下移动，背景是黑色", 10, "一个橙色的正方..."},
	} {
		got := shorten(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// generate refuses guidance outside 0..MaxGuidance before anything runs,
// as README's settings table says.
func TestGenerateGuidanceBounds(t *testing.T) {
	for _, g := range []string{"-0.5", "100.5"} {
		err := execute(t, "generate", "a red circle moving right", "--guidance", g, "--data", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "guidance:") {
			t.Errorf("--guidance %s: got %v", g, err)
		}
	}
}
