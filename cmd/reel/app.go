package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/rs/zerolog"
)

// app holds what the root command's flags set; commands receive it
// explicitly (no package-level state).
type app struct {
	logFormat string
	logLevel  string
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// logger builds the process logger on stderr: console on a terminal (or with
// --log-format console), JSON otherwise (stage processes: --log-format json).
func (a *app) logger(w io.Writer) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(a.logLevel)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("--log-level: %w", err)
	}
	if w == nil {
		w = os.Stderr
	}
	console := false
	switch a.logFormat {
	case "console":
		console = true
	case "json":
	case "auto", "":
		f, ok := w.(*os.File)
		console = ok && isTerminal(f)
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format %q: want auto, console or json", a.logFormat)
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// defaultDataDir follows XDG: $XDG_DATA_HOME/reel, else ~/.local/share/reel.
func defaultDataDir() string {
	if d := envconfig.DataHome(); d != "" {
		return filepath.Join(d, "reel")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "reel")
	}
	return filepath.Join(os.TempDir(), "reel")
}
