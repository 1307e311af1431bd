package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"
)

// promptArgs accepts a prompt as one quoted argument or as several words
// (`reel generate a red circle`), as ollama does.
func promptArgs(_ *cobra.Command, args []string) error {
	if len(args) == 0 {
		return errors.New(`missing PROMPT, e.g. reel generate "a red circle moving right"`)
	}
	return nil
}

// promptOf joins an unquoted multi-word prompt with single spaces.
func promptOf(args []string) string { return strings.Join(args, " ") }
