// Package torch holds the bundled PyTorch runner's Python sources
// (runner.py and its modules, see docs/runner.md), embedded so that a reel
// binary can start the runner from any directory: runner.TorchCommand
// writes them to a cache directory and runs runner.py there.
package torch

import (
	"embed"
	"io/fs"
)

//go:embed *.py
var sources embed.FS

// Entry is the script to run.
const Entry = "runner.py"

// Sources returns the runner's Python files (read-only).
func Sources() fs.FS { return sources }
