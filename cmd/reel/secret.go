package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/reel-video/reel/internal/envconfig"
)

// Secrets on the command line are visible to every user in ps; reel takes
// them from a file or the environment instead. The old flags still work,
// with a warning.

// secretSource is one secret's three sources, in order of preference:
// --X-file, the environment variable, and the (deprecated) --X flag.
type secretSource struct {
	flag, file, env  string // flag names and variable, for messages
	fileVal, flagVal string
}

// resolve returns the secret, warning on w when it came from the
// visible flag.
func (s secretSource) resolve(w io.Writer) (string, error) {
	if s.fileVal != "" {
		b, err := os.ReadFile(s.fileVal)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", s.file, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if v := envconfig.String(s.env); v != "" {
		return v, nil
	}
	if s.flagVal != "" {
		fmt.Fprintf(w, "warning: --%s is visible to other users in ps; use --%s or $%s\n", s.flag, s.file, s.env)
	}
	return s.flagVal, nil
}
