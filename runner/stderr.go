package runner

import (
	"bufio"
	"io"
	"strings"
	"sync"

	"github.com/rs/zerolog"
)

// tailLines is how many of the runner's last stderr lines an error quotes.
const tailLines = 12

// tail keeps the last lines of the runner's stderr.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == tailLines {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, line)
}

// String is the kept lines joined by " | ", or "(empty)".
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(empty)"
	}
	return strings.Join(t.lines, " | ")
}

// level maps a leading word of a runner log line (Python logging's level
// names, either case) to a zerolog level.
func level(word string) (zerolog.Level, bool) {
	switch strings.ToLower(word) {
	case "debug":
		return zerolog.DebugLevel, true
	case "info":
		return zerolog.InfoLevel, true
	case "warning", "warn":
		return zerolog.WarnLevel, true
	case "error", "critical":
		return zerolog.ErrorLevel, true
	}
	return zerolog.NoLevel, false
}

// logLine splits an optional level word off a stderr line.
func logLine(line string) (zerolog.Level, string) {
	word, rest, ok := strings.Cut(line, " ")
	if lvl, known := level(word); ok && known {
		return lvl, rest
	}
	return zerolog.InfoLevel, line
}

// copyStderr logs every stderr line of the runner and keeps the tail; job
// names the job of the call in flight, if exactly one is.
func copyStderr(r io.Reader, t *tail, log zerolog.Logger, job func() string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t.add(line)
		lvl, msg := logLine(line)
		ev := log.WithLevel(lvl)
		if j := job(); j != "" {
			ev = ev.Str("job", j)
		}
		ev.Msg(msg)
	}
}
