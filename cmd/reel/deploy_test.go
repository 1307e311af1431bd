package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// commandLines extracts the reel command lines of the deploy files and the
// README: compose `command: [...]`, Kubernetes `args: [...]` (flow sequences,
// possibly over several lines), `reel ...` in shell comments, and the
// README's `reel ...` code spans that are concrete (no [optional] or a|b
// syntax).
func commandLines(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	flow := regexp.MustCompile(`(?s)(?:command|args): \[([^\]]*)\]`)
	for _, path := range []string{"../../deploy/compose.yaml", "../../deploy/k8s/stages.yaml", "../../deploy/k8s/setup.yaml", "../../deploy/k8s/gateway.yaml"} {
		text := read(path)
		for i, m := range flow.FindAllStringSubmatch(text, -1) {
			var args []string
			for _, a := range strings.Split(m[1], ",") {
				args = append(args, strings.Trim(strings.TrimSpace(a), `"'`))
			}
			if args[0] == "-c" {
				continue // a nats-server command
			}
			out[path+" #"+string(rune('a'+i))] = args
		}
		// Shell lines in comments: "... reel ARGS", "-- ARGS" (kubectl run),
		// "run --rm client ARGS" (compose), continued with a backslash.
		comments := regexp.MustCompile(`(?m)^#\s*(.*)$`).FindAllStringSubmatch(text, -1)
		var line string
		for _, c := range comments {
			l := strings.TrimSpace(c[1])
			if strings.HasSuffix(l, `\`) {
				line += strings.TrimSuffix(l, `\`) + " "
				continue
			}
			line += l
			for _, marker := range []string{" -- ", "run --rm client "} {
				if _, rest, ok := strings.Cut(line, marker); ok {
					out[path+": "+line] = shellSplit(rest)
				}
			}
			line = ""
		}
	}
	span := regexp.MustCompile("`reel ([^`]*)`")
	for _, m := range span.FindAllStringSubmatch(read("../../README.md"), -1) {
		if strings.ContainsAny(m[1], "[|") || strings.Contains(m[1], "...") {
			continue
		}
		out["README: reel "+m[1]] = shellSplit(strings.ReplaceAll(m[1], "…", "x"))
	}
	return out
}

// shellSplit splits on spaces, keeping "double quoted" words together.
func shellSplit(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, any := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, any = !quoted, true
		case r == ' ' && !quoted:
			if any {
				out = append(out, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if any {
		out = append(out, cur.String())
	}
	return out
}

// Every reel command line in deploy/ and the README names a real subcommand
// with flags and arguments it accepts (parsed by cobra, not run).
func TestDeployCommandLinesParse(t *testing.T) {
	lines := commandLines(t)
	for _, want := range []string{"setup", "stage", "submit", "server"} {
		found := false
		for _, args := range lines {
			found = found || args[0] == want
		}
		if !found {
			t.Errorf("no %q command line found: the extraction is broken", want)
		}
	}
	t.Logf("%d command lines", len(lines))
	env := strings.NewReplacer("$(NATS_USER)", "reel", "$(NATS_PASSWORD)", "secret")
	for where, args := range lines {
		for i := range args {
			args[i] = env.Replace(args[i])
		}
		root := newRoot()
		cmd, rest, err := root.Find(args)
		if err != nil || cmd == root {
			t.Errorf("%s: %q: no such command (%v)", where, args, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("%s: %q: %v", where, args, err)
			continue
		}
		if len(args) == 1 && strings.HasPrefix(where, "README") {
			continue // prose naming a command ("a `reel stage` process")
		}
		if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
			t.Errorf("%s: %q: %v", where, args, err)
		}
	}
}

// The NATS cluster config parses, and keeps what reel and KEDA rely on.
func TestNATSClusterConfig(t *testing.T) {
	o, err := server.ProcessConfigFile("../../deploy/nats/cluster.conf")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case o.HTTPPort != 8222:
		t.Errorf("http_port %d: KEDA (deploy/k8s) and compose use 8222", o.HTTPPort)
	case o.MaxPayload != 1<<20:
		t.Errorf("max_payload %d: keep the 1 MiB default (bodies above it use the object store)", o.MaxPayload)
	case o.Cluster.Port == 0 || len(o.Routes) != 3:
		t.Errorf("cluster port %d, %d routes: want a 3-node cluster", o.Cluster.Port, len(o.Routes))
	case len(o.Users) == 0:
		t.Error("no users: compose and k8s attach with --nats-user/--nats-password")
	}
}

// The Dockerfile builds the binary the way the Go toolchain can: a
// dependency with cgo files (go-nvml) does not compile with CGO_ENABLED=0.
func TestDockerfileBuildKeepsCgo(t *testing.T) {
	b, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	build := regexp.MustCompile(`(?m)^RUN (.*)go build .*\./cmd/reel`).FindStringSubmatch(string(b))
	if build == nil {
		t.Fatal("no `RUN ... go build ./cmd/reel` line in deploy/Dockerfile")
	}
	if !strings.Contains(build[1], "CGO_ENABLED=0") && !strings.Contains(string(b), "ENV CGO_ENABLED=0") {
		return
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if and .CgoFiles (not .Standard)}}{{.ImportPath}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if pkgs := strings.Fields(string(out)); len(pkgs) > 0 {
		t.Fatalf("deploy/Dockerfile builds with CGO_ENABLED=0, but %v need cgo", pkgs)
	}
}
