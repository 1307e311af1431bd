package runner

import (
	"fmt"
	"strings"
)

// Engine kinds of --engine.
const (
	KindGo    = "go"    // the in-process pure-Go engine
	KindTorch = "torch" // the bundled PyTorch runner (TorchCommand)
	KindExec  = "exec"  // any runner: exec:COMMAND
)

// Spec is one engine choice.
type Spec struct {
	Kind    string   // KindGo, KindTorch or KindExec
	Command []string // KindExec: the runner's argv (COMMAND split on spaces)
}

// ParseSpec parses "go", "torch" or "exec:COMMAND". COMMAND is split on
// white space (no quoting: use a wrapper script for anything fancier).
func ParseSpec(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == KindGo || s == KindTorch:
		return Spec{Kind: s}, nil
	case strings.HasPrefix(s, KindExec+":"):
		argv := strings.Fields(strings.TrimPrefix(s, KindExec+":"))
		if len(argv) == 0 {
			return Spec{}, fmt.Errorf("runner: engine %q: exec needs a command", s)
		}
		return Spec{Kind: KindExec, Command: argv}, nil
	}
	return Spec{}, fmt.Errorf("runner: engine %q: want go, torch or exec:COMMAND", s)
}

// ParseSpecs parses an --engine value for a set of stages: one spec for
// every stage ("torch"), or comma-separated stage=spec pairs
// ("vaedecode=torch,denoise=go"), optionally led by a default for the rest
// ("torch,denoise=go"). Stages not named get KindGo. A per-stage exec
// command cannot contain a comma; it may contain "=".
func ParseSpecs(s string, stages []string) (map[string]Spec, error) {
	out := make(map[string]Spec, len(stages))
	known := make(map[string]bool, len(stages))
	for _, st := range stages {
		out[st] = Spec{Kind: KindGo}
		known[st] = true
	}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	parts := strings.Split(s, ",")
	// The first part is the default unless it names a stage: an exec
	// command may contain "=" itself ("exec:runner --device=cuda:0").
	if st, _, ok := strings.Cut(parts[0], "="); !ok || !known[strings.TrimSpace(st)] {
		def, err := ParseSpec(parts[0])
		if err != nil {
			return nil, err
		}
		for _, st := range stages {
			out[st] = def
		}
		parts = parts[1:]
	}
	for _, part := range parts {
		stage, spec, ok := strings.Cut(part, "=")
		stage = strings.TrimSpace(stage)
		if !ok || !known[stage] {
			return nil, fmt.Errorf("runner: engine %q: %q is not stage=ENGINE for a stage in %v", s, part, stages)
		}
		sp, err := ParseSpec(spec)
		if err != nil {
			return nil, err
		}
		out[stage] = sp
	}
	return out, nil
}
