// Command reel is the text-to-video system: `reel generate PROMPT` runs
// everything in one process on an embedded NATS server; `reel server` and
// `reel stage` run the same pipeline spread over processes and machines.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code (e.g. `reel watch` on a failed job).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a clean shutdown; once it is caught, a second
	// one gets the default behaviour and ends a shutdown that hangs.
	context.AfterFunc(ctx, stop)
	defer stop()
	err := newRoot().ExecuteContext(ctx)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "reel:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}

func newRoot() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:           "reel",
		Short:         "Text to video over a NATS JetStream pipeline",
		Long:          "Text to video over a NATS JetStream pipeline.\n\nEnvironment variables: `reel env` lists them.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "auto", "log format: auto (console on a terminal, else JSON), console or json")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	root.AddCommand(
		newGenerateCommand(a),
		newServerCommand(a),
		newGatewayCommand(a),
		newStageCommand(a),
		newAuthCommand(a),
		newDeleteCommand(a),
		newPruneCommand(a),
		newClientAPICommand(a),
		newSubmitCommand(a),
		newStatusCommand(a),
		newWatchCommand(a),
		newGetCommand(a),
		newJobsCommand(a),
		newCancelCommand(a),
		newReplayCommand(a),
		newExtendCommand(a),
		newRemixCommand(a),
		newSetupCommand(a),
		newWorkersCommand(a),
		newGPUsCommand(),
		newGPUProbeCommand(),
		newQuantizeCommand(),
		newBenchCommand(),
		newEnvCommand(),
		newVersionCommand(),
		newProbeCommand(),
	)
	return root
}
