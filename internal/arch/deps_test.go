package arch

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	module     = "github.com/reel-video/reel"
	natsServer = "github.com/nats-io/nats-server"
	natsClient = "github.com/nats-io/nats.go"
)

// seams lists packages and the module paths none of their dependencies may
// come from. Stage handlers depend on the stages contract and the wire
// protocol only (issue 9 §4), so they run on any transport and their unit
// tests need no server.
var seams = []struct {
	pkg       string
	forbidden []string
}{
	{"stages", []string{natsServer, natsClient}},
	{"stages/textenc", []string{natsServer, natsClient}},
	{"stages/denoise", []string{natsServer, natsClient}},
	{"stages/vaedecode", []string{natsServer, natsClient}},
	{"stages/encode", []string{natsServer, natsClient}},
	{"stages/stagemem", []string{natsServer, natsClient}},
	{"stages/goengine", []string{natsServer, natsClient}},
	{"stages/runnerengine", []string{natsServer, natsClient}},
	{"runner", []string{natsServer, natsClient}},
	{"stages/stagetest/fixture", []string{natsServer, natsClient}},
	{"bus/protocol", []string{natsServer, natsClient}},
	{"internal/envconfig", []string{natsServer, natsClient}},
	{"internal/mem", []string{natsServer}},
}

// TestSeams runs `go list -deps` on each package and fails naming the import
// chain that reaches a forbidden module.
func TestSeams(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found: %v", err)
	}
	for _, s := range seams {
		t.Run(strings.ReplaceAll(s.pkg, "/", "_"), func(t *testing.T) {
			root := module + "/" + s.pkg
			graph := imports(t, goBin, root)
			for _, f := range s.forbidden {
				// One shortest chain per forbidden module says who imports it.
				var best []string
				n := 0
				for dep := range graph {
					if dep == f || strings.HasPrefix(dep, f+"/") {
						n++
						if c := chain(graph, root, dep); best == nil || len(c) < len(best) || (len(c) == len(best) && dep < best[len(best)-1]) {
							best = c
						}
					}
				}
				if n > 0 {
					t.Errorf("%s links %s (%d packages), e.g. %s", s.pkg, f, n, strings.Join(best, " -> "))
				}
			}
		})
	}
}

// imports is the import graph below pkg: package -> its imports.
func imports(t *testing.T, goBin, pkg string) map[string][]string {
	t.Helper()
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", pkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr.String())
	}
	g := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			g[f[0]] = f[1:]
		}
	}
	if _, ok := g[pkg]; !ok {
		t.Fatalf("go list -deps %s did not list the package itself", pkg)
	}
	return g
}

// chain is a shortest import path from root to dep (breadth first).
func chain(g map[string][]string, root, dep string) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == dep {
			var path []string
			for ; p != ""; p = prev[p] {
				path = append(path, p)
			}
			slices.Reverse(path)
			return path
		}
		for _, q := range g[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return []string{root, "...", dep}
}

// TestChainNamesTheImporter checks the diagnostic on a graph with a
// forbidden edge, since the real graph (if the seams hold) never shows it.
func TestChainNamesTheImporter(t *testing.T) {
	g := map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"e"}, "e": {"f"}}
	if got := chain(g, "a", "f"); !slices.Equal(got, []string{"a", "c", "e", "f"}) {
		t.Errorf("chain %v", got)
	}
}

// envReadAllowed are the environment reads outside internal/envconfig: a
// system variable a test only inspects.
var envReadAllowed = map[string]string{
	"internal/gpu/monitor_test.go": `os.Getenv("LD_LIBRARY_PATH")`,
}

// TestEnvironmentReadInOnePlace fails on an os.Getenv or os.LookupEnv
// outside internal/envconfig (and this test, which names them): every
// variable is declared there.
func TestEnvironmentReadInOnePlace(t *testing.T) {
	root := filepath.Join("..", "..")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			if rel == filepath.Join("internal", "envconfig") || rel == filepath.Join("internal", "arch") || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for i, line := range strings.Split(string(data), "\n") {
			if !strings.Contains(line, "os.Getenv(") && !strings.Contains(line, "os.LookupEnv(") {
				continue
			}
			if allow, ok := envReadAllowed[filepath.ToSlash(rel)]; ok && strings.Contains(line, allow) {
				continue
			}
			t.Errorf("%s:%d reads the environment directly; declare the variable in internal/envconfig: %s", rel, i+1, strings.TrimSpace(line))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("scanned %d Go files: not the repository", files)
	}
}
