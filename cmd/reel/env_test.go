package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/reel-video/reel/internal/envconfig"
)

// `reel env` lists the runtime variables (and with --all the tests' too),
// and `reel --help` points at it.
func TestEnvCommand(t *testing.T) {
	run := func(args ...string) string {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("reel %v: %v", args, err)
		}
		return out.String()
	}
	env, all := run("env"), run("env", "--all")
	for _, v := range envconfig.Vars() {
		inEnv, inAll := strings.Contains(env, v.Name+" "), strings.Contains(all, v.Name+" ")
		if inEnv != (v.Scope == envconfig.Runtime) || !inAll {
			t.Errorf("%s (%s): listed by `reel env` %v, by --all %v", v.Name, v.Scope, inEnv, inAll)
		}
	}
	if help := run("--help"); !strings.Contains(help, "reel env") {
		t.Errorf("--help does not point at `reel env`:\n%s", help)
	}
}
