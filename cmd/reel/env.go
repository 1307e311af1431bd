package main

import (
	"fmt"

	"github.com/reel-video/reel/internal/envconfig"
	"github.com/spf13/cobra"
)

// newEnvCommand lists the environment variables (internal/envconfig, the
// one place they are declared).
func newEnvCommand() *cobra.Command {
	var all, markdown bool
	cmd := &cobra.Command{
		Use:   "env",
		Short: "List the environment variables reel reads, their defaults and whether they are set",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if markdown {
				_, err := fmt.Fprint(out, envconfig.Markdown())
				return err
			}
			scopes := []envconfig.Scope{envconfig.Runtime}
			if all {
				scopes = nil
			}
			return envconfig.WriteText(out, scopes...)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list the variables only the tests read")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the README's table")
	return cmd
}
