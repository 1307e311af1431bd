// Package tooltest is how a test finds an outside tool it needs (ffmpeg,
// ffprobe, chromium, Debian's PyTorch, node packages, the nats CLI). A
// missing tool skips the test with a loud message, or fails it when
// REEL_VIDEO_REQUIRE_TOOLS is set (CI): go test hides the skip messages of
// passing packages, so a skip alone could silently drop a proof.
package tooltest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/reel-video/reel/internal/envconfig"
)

// Python is the interpreter the PyTorch runner and the reference
// transcriptions run with (the plain python3 on PATH may lack torch).
const Python = "/usr/bin/python3"

// Missing skips t, or fails it under REEL_VIDEO_REQUIRE_TOOLS, saying what is
// missing, why (err) and how to install it.
func Missing(t testing.TB, what, install string, err error) {
	t.Helper()
	msg := fmt.Sprintf("MISSING TOOL, CHECK NOT RUN: %s (%v); %s; set %s=1 to make this a failure", what, err, install, envconfig.VideoRequireTools)
	fmt.Fprintln(os.Stderr, t.Name()+": "+msg)
	if envconfig.Bool(envconfig.VideoRequireTools) {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Look returns the path of a program on PATH, or calls Missing.
func Look(t testing.TB, name, debianPkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, fmt.Sprintf("install the Debian package %q", debianPkg), err)
	}
	return p
}

// Chromium finds the browser: $REEL_CHROMIUM, else Debian's
// /usr/bin/chromium, else chromium or chromium-browser on PATH.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := envconfig.String(envconfig.Chromium); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	var err error
	for _, name := range []string{"chromium", "chromium-browser"} {
		var p string
		if p, err = exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "chromium", `install the Debian package "chromium"`, err)
	return ""
}

// NeedPython calls Missing unless Python can import every module named
// (comma-separated, as in an import statement: "torch, numpy").
func NeedPython(t testing.TB, modules string) {
	t.Helper()
	out, err := exec.Command(Python, "-c", "import "+modules).CombinedOutput()
	if err != nil {
		Missing(t, Python+" with "+modules, "install Debian's python3-torch python3-numpy python3-msgpack",
			fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out))))
	}
}
