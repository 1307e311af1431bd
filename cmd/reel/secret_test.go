package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 13 item 9: passwords come from a file or the environment, so they
// are not in ps; the old flag still works but warns.
func TestSecretSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		src       secretSource
		env, want string
		warns     bool
	}{
		{"file", secretSource{fileVal: file, flagVal: "flag"}, "env", "from-file", false},
		{"env", secretSource{flagVal: "flag"}, "from-env", "from-env", false},
		{"flag", secretSource{flagVal: "flag"}, "", "flag", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.src.flag, c.src.file, c.src.env = "nats-password", "nats-password-file", "REEL_TEST_SECRET"
			t.Setenv("REEL_TEST_SECRET", c.env)
			var w bytes.Buffer
			got, err := c.src.resolve(&w)
			if err != nil || got != c.want {
				t.Fatalf("got %q %v, want %q", got, err, c.want)
			}
			if warned := strings.Contains(w.String(), "visible to other users in ps"); warned != c.warns {
				t.Errorf("warning %q", w.String())
			}
		})
	}
}
