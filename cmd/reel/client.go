package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/clientapi"
	"github.com/reel-video/reel/internal/mem"
	"github.com/reel-video/reel/orchestrator"
	"github.com/reel-video/reel/stages/worker"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// clientAPITimeout bounds one JetStream API call of a client command; a
// call lost in a leader election is retried (bus.ClientRetry) rather than
// waited on.
const clientAPITimeout = 4 * time.Second

// clientSetup is what every client command connects with: its logger
// (warnings and up: the command's output says what happens) and the
// connection settings from its flags.
func clientSetup(a *app, nf *natsFlags, cmd *cobra.Command) (zerolog.Logger, bus.ConnectConfig, error) {
	log, err := a.logger(cmd.ErrOrStderr())
	if err != nil {
		return log, bus.ConnectConfig{}, err
	}
	log = log.Level(max(log.GetLevel(), zerolog.WarnLevel))
	nf.cc.Name = "reel " + cmd.Name()
	if nf.cc.APITimeout == 0 {
		nf.cc.APITimeout = clientAPITimeout
	}
	cc, err := nf.config(cmd.ErrOrStderr())
	return log, cc, err
}

// client opens the bus for a client command (attaching to the server's layout).
func client(ctx context.Context, a *app, nf *natsFlags, cmd *cobra.Command) (*bus.Bus, *orchestrator.Store, error) {
	log, cc, err := clientSetup(a, nf, cmd)
	if err != nil {
		return nil, nil, err
	}
	bctx, cancel := context.WithTimeout(ctx, bus.OpenRetry.Total)
	defer cancel()
	b, err := bus.Open(bctx, cc, bus.LayoutConfig{}, log)
	if err != nil {
		return nil, nil, connectHint(err, nf.cc.URL)
	}
	return b, orchestrator.NewStore(b, log), nil
}

// clientFunc is a client command's body, run on an open connection.
type clientFunc func(cmd *cobra.Command, args []string, b *bus.Bus, store *orchestrator.Store) error

// withClient is the RunE of a client command: connect, run fn, close.
// Checks that need no server belong in PreRunE, so they fail before any
// connection is tried.
func withClient(a *app, nf *natsFlags, fn clientFunc) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		b, store, err := client(cmd.Context(), a, nf, cmd)
		if err != nil {
			return err
		}
		defer b.Close()
		return fn(cmd, args, b, store)
	}
}

// retried is a clientFunc that rides through leader elections: the whole
// body is run again on a transient error (bus.ClientRetry). Only for
// bodies that are safe to repeat.
func retried(fn clientFunc) clientFunc {
	return func(cmd *cobra.Command, args []string, b *bus.Bus, store *orchestrator.Store) error {
		return bus.ClientRetry.Do(cmd.Context(), store.Log(), cmd.Name(), func(context.Context) error {
			return fn(cmd, args, b, store)
		})
	}
}

func newSubmitCommand(a *app) *cobra.Command {
	var nf natsFlags
	var sf settingsFlags
	var deadline time.Duration
	var role clientRole
	cmd := &cobra.Command{
		Use:   "submit PROMPT",
		Short: "Submit a job; prints the job id as the last line",
		Args:  promptArgs,
		// Bad settings are refused before anything connects.
		PreRunE: func(_ *cobra.Command, args []string) error {
			return orchestrator.Validate(sf.request(promptOf(args)))
		},
		RunE: either(a, &nf, &role, func(cmd *cobra.Command, args []string, _ *bus.Bus, store *orchestrator.Store) error {
			req, set := sf.request(promptOf(args))
			// One id for every attempt, so that a retry through a leader
			// election resumes the same job instead of submitting twice.
			o := orchestrator.SubmitOptions{ID: orchestrator.NewJobID(time.Now()), Deadline: deadline}
			var id string
			err := bus.ClientRetry.Do(cmd.Context(), store.Log(), "submit", func(ctx context.Context) error {
				var err error
				id, err = store.Submit(ctx, req, set, o)
				o.Resume = true
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		}, func(cmd *cobra.Command, args []string, api roleAPI) error {
			req, set := sf.request(promptOf(args))
			// The id is ours to pick (one of our own), so that a retry
			// resumes this job.
			id := role.name + "-" + orchestrator.NewJobID(time.Now())
			rep, err := api.call(cmd.Context(), clientapi.OpSubmit, clientapi.Request{Job: id, Prompt: req, Settings: set, Deadline: deadline})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), rep.Job)
			return nil
		}),
	}
	nf.register(cmd.Flags())
	role.register(cmd.Flags())
	sf.register(cmd.Flags())
	cmd.Flags().DurationVar(&deadline, "timeout", 0, "job deadline (0 = none); past it the job fails")
	return cmd
}

func newStatusCommand(a *app) *cobra.Command {
	var nf natsFlags
	var asJSON bool
	var role clientRole
	cmd := &cobra.Command{
		Use:   "status JOB",
		Short: "Print a job's state and one line per stage",
		Args:  cobra.ExactArgs(1),
		RunE: either(a, &nf, &role, retried(func(cmd *cobra.Command, args []string, _ *bus.Bus, store *orchestrator.Store) error {
			j, err := store.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showRecord(cmd.OutOrStdout(), j, asJSON)
		}), func(cmd *cobra.Command, args []string, api roleAPI) error {
			j, err := api.record(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showRecord(cmd.OutOrStdout(), j, asJSON)
		}),
	}
	nf.register(cmd.Flags())
	role.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the job record as JSON")
	return cmd
}

// showRecord is what `status` prints: the record as JSON, or printStatus.
func showRecord(w io.Writer, j *orchestrator.Job, asJSON bool) error {
	if asJSON {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(j)
	}
	printStatus(w, j, time.Now())
	return nil
}

func printStatus(w io.Writer, j *orchestrator.Job, now time.Time) {
	fmt.Fprintf(w, "job %s %s", j.ID, j.State)
	if j.Error != "" {
		fmt.Fprintf(w, ": %s", j.Error)
	}
	fmt.Fprintf(w, " (%d frames, %d steps, seed %d) %q", j.Settings.Frames, j.Settings.Steps, j.Settings.Seed, j.Prompt)
	if j.Parent != "" {
		fmt.Fprintf(w, ", replay of %s from %s", j.Parent, j.ReplayFrom)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, name := range protocol.Stages() {
		s := j.Stages[name]
		if s == nil {
			continue
		}
		var detail []string
		if s.ReusedFrom != "" {
			detail = append(detail, "reused from "+s.ReusedFrom)
		}
		if s.Steps > 0 {
			detail = append(detail, fmt.Sprintf("step %d/%d", s.Step, s.Steps))
		}
		if s.Count > 0 {
			detail = append(detail, fmt.Sprintf("chunks %d/%d", len(s.Chunks), s.Count))
		}
		if s.Started != nil {
			detail = append(detail, fmt.Sprintf("%.1fs", s.Seconds(now)))
		}
		if s.Retries > 0 {
			detail = append(detail, fmt.Sprintf("%d retries", s.Retries))
		}
		if len(s.Workers) > 0 {
			detail = append(detail, "workers "+strings.Join(s.Workers, ","))
		}
		if s.Error != "" {
			detail = append(detail, "error: "+s.Error)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", name, s.State, strings.Join(detail, "  "))
	}
	_ = tw.Flush()
	if v := j.Video; v != nil {
		fmt.Fprintf(w, "video %s: %d frames, %dx%d, %d fps, %.1fs, %d bytes, encoder %s", v.Object, v.Frames, v.Width, v.Height, v.FPS, v.Seconds, v.Bytes, v.Encoder)
		if v.FallbackReason != "" {
			fmt.Fprintf(w, " (%s)", v.FallbackReason)
		}
		fmt.Fprintln(w)
	}
}

func newWatchCommand(a *app) *cobra.Command {
	var nf natsFlags
	var role clientRole
	cmd := &cobra.Command{
		Use:   "watch JOB",
		Short: "Follow a job's events; exit 0 when it succeeds, 1 when it fails, 2 when cancelled",
		Args:  cobra.ExactArgs(1),
		RunE: either(a, &nf, &role, retried(func(cmd *cobra.Command, args []string, b *bus.Bus, store *orchestrator.Store) error {
			j, err := follow(cmd.Context(), store, args[0], cmd.OutOrStdout())
			if err != nil {
				return err
			}
			return watchExit(cmd.OutOrStdout(), j)
		}), func(cmd *cobra.Command, args []string, api roleAPI) error {
			j, err := api.watch(cmd.Context(), args[0], cmd.OutOrStdout())
			if err != nil {
				return err
			}
			return watchExit(cmd.OutOrStdout(), j)
		}),
	}
	nf.register(cmd.Flags())
	role.register(cmd.Flags())
	return cmd
}

// watchExit is how `watch` ends: 0 succeeded, 1 failed, 2 cancelled.
func watchExit(w io.Writer, j *orchestrator.Job) error {
	switch j.State {
	case protocol.StateSucceeded:
		fmt.Fprintf(w, "%s succeeded\n", j.ID)
		return nil
	case protocol.StateCancelled:
		return &exitError{2, fmt.Errorf("job %s cancelled", j.ID)}
	}
	return &exitError{1, fmt.Errorf("job %s failed: %s", j.ID, j.Error)}
}

func newGetCommand(a *app) *cobra.Command {
	var nf natsFlags
	var out, what string
	var role clientRole
	cmd := &cobra.Command{
		Use:   "get JOB -o FILE",
		Short: "Download a finished job's video (or --what poster|gif)",
		Args:  cobra.ExactArgs(1),
		PreRunE: func(*cobra.Command, []string) error {
			if role.name != "" && what != "video" {
				return errClientRoleVideoOnly
			}
			_, _, err := videoFile(what, &protocol.VideoInfo{})
			return err
		},
		RunE: either(a, &nf, &role, retried(func(cmd *cobra.Command, args []string, b *bus.Bus, store *orchestrator.Store) error {
			j, err := store.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if j.State != protocol.StateSucceeded || j.Video == nil {
				return fmt.Errorf("job %s is %s, it has no video", j.ID, j.State)
			}
			name, ext, err := videoFile(what, j.Video)
			if err != nil {
				return err
			}
			if name == "" {
				return fmt.Errorf("job %s has no %s (encoder %s)", j.ID, what, j.Video.Encoder)
			}
			if out == "" {
				out = j.ID + ext
			}
			want := ""
			if name == j.Video.Object {
				want = j.Video.SHA256
			}
			if err := saveVerified(cmd.Context(), b, name, want, out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		}), func(cmd *cobra.Command, args []string, api roleAPI) error {
			j, err := api.record(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if j.State != protocol.StateSucceeded || j.Video == nil {
				return fmt.Errorf("job %s is %s, it has no video", j.ID, j.State)
			}
			if out == "" {
				out = j.ID + ".mp4"
			}
			if err := api.save(cmd.Context(), j, out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		}),
	}
	nf.register(cmd.Flags())
	role.register(cmd.Flags())
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (default ./<job>.mp4, .png or .gif)")
	cmd.Flags().StringVar(&what, "what", "video", "video, poster or gif")
	return cmd
}

// videoFile is the blob of a finished job that `get --what` names, and the
// extension of its default file name.
func videoFile(what string, v *protocol.VideoInfo) (name, ext string, err error) {
	switch what {
	case "video":
		return v.Object, ".mp4", nil
	case "poster":
		return v.Poster, ".png", nil
	case "gif":
		return v.GIF, ".gif", nil
	}
	return "", "", fmt.Errorf("--what %q: want video, poster or gif", what)
}

func newJobsCommand(a *app) *cobra.Command {
	var nf natsFlags
	var limit int
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List jobs, newest first",
		Args:  cobra.NoArgs,
		RunE: withClient(a, &nf, retried(func(cmd *cobra.Command, _ []string, _ *bus.Bus, store *orchestrator.Store) error {
			jobs, err := store.List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tSTATE\tCREATED\tFRAMES\tSTEPS\tPROMPT")
			for i, j := range jobs {
				if limit > 0 && i >= limit {
					break
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%q\n", j.ID, j.State, j.Created.Local().Format(time.DateTime), j.Settings.Frames, j.Settings.Steps, shorten(j.Prompt, 40))
			}
			return tw.Flush()
		})),
	}
	nf.register(cmd.Flags())
	cmd.Flags().IntVarP(&limit, "limit", "n", 50, "show at most this many (0 = all)")
	return cmd
}

// shorten cuts s to at most n characters (not bytes: prompts may be
// Chinese), marking the cut with "...".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

func newCancelCommand(a *app) *cobra.Command {
	var nf natsFlags
	var role clientRole
	cmd := &cobra.Command{
		Use:   "cancel JOB",
		Short: "Cancel a job; every stage stops working on it within one denoise step or one chunk",
		Args:  cobra.ExactArgs(1),
		RunE: either(a, &nf, &role, retried(func(cmd *cobra.Command, args []string, _ *bus.Bus, store *orchestrator.Store) error {
			if err := store.Cancel(cmd.Context(), args[0], "cancelled by user"); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s cancelled\n", args[0])
			return nil
		}), func(cmd *cobra.Command, args []string, api roleAPI) error {
			if _, err := api.call(cmd.Context(), clientapi.OpCancel, clientapi.Request{Job: args[0]}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s cancelled\n", args[0])
			return nil
		}),
	}
	nf.register(cmd.Flags())
	role.register(cmd.Flags())
	return cmd
}

func newWorkersCommand(a *app) *cobra.Command {
	var nf natsFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "workers",
		Short: "List live stage workers (heartbeats), with device and memory",
		Args:  cobra.NoArgs,
		RunE: withClient(a, &nf, retried(func(cmd *cobra.Command, _ []string, b *bus.Bus, _ *orchestrator.Store) error {
			ws, err := worker.ListWorkers(cmd.Context(), b)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(ws)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STAGE\tWORKER\tBUSY\tDONE\tFAILED\tDEVICE\tMEMORY\tENGINE\tSEEN")
			for _, w := range ws {
				dev := w.Device
				if dev == "" {
					dev = "cpu"
				}
				mem := fmt.Sprintf("heap %d MiB", w.HeapBytes>>20)
				if w.MemBudgetBytes > 0 {
					mem = fmt.Sprintf("%d/%d MiB", w.MemUsedBytes>>20, w.MemBudgetBytes>>20)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%d\t%s\t%s\t%s\t%s ago\n", w.Stage, w.Worker, w.Busy, w.Concurrency, w.Done, w.Failed, dev, mem, engineColumn(w), time.Since(w.Seen).Round(time.Second))
			}
			return tw.Flush()
		})),
	}
	nf.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// engineColumn is a worker's engine for `reel workers`, with its runner's
// process and memory: "torch pid 4242 cuda:0 RSS 610 MiB GPU 1.2 GiB".
func engineColumn(w worker.WorkerInfo) string {
	e := w.Engine
	if e == "" {
		e = "-"
	}
	r := w.Runner
	if r == nil {
		return e
	}
	if r.PID == 0 {
		return e + " (runner restarting)"
	}
	e += fmt.Sprintf(" pid %d %s RSS %s", r.PID, r.Device, mem.FormatSize(r.RSSBytes))
	if r.GPUReservedBytes > 0 {
		e += " GPU " + mem.FormatSize(r.GPUReservedBytes)
	}
	return e
}
