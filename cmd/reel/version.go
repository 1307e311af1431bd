package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/spf13/cobra"
)

// version is stamped at build time: go build -ldflags "-X main.version=v1.2.3"
// (deploy/Dockerfile does); otherwise the module version or "dev".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return "dev"
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print reel's version, Go version and wire schema",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "reel %s (%s, %s/%s, envelope schema v%d)\n",
				buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH, protocol.SchemaVersion)
		},
	}
}
