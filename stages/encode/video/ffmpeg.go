package video

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// stderrLimit bounds how much of ffmpeg's stderr is kept for error messages:
// a misbehaving ffmpeg must not grow our memory, and the tail is where the
// reason is.
const stderrLimit = 8 << 10

// waitDelay is how long Wait waits for ffmpeg's pipes after the process was
// killed or exited, so a stuck grandchild holding stderr cannot hang a job.
const waitDelay = 2 * time.Second

// ffmpegArgs builds the command line for raw rgb24 on stdin → H.264 yuv420p
// MP4. Kept separate so tests can check it without running ffmpeg.
func ffmpegArgs(opts Options, out string) []string {
	return []string{
		"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24",
		"-s", fmt.Sprintf("%dx%d", opts.Width, opts.Height),
		"-framerate", strconv.Itoa(opts.FPS),
		"-i", "pipe:0",
		"-an",
		// BT.709 limited range, 4:2:0: without format=yuv420p x264 picks
		// 4:4:4 (High 4:4:4 Predictive), which browsers do not play.
		"-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
		"-c:v", "libx264", "-preset", "medium", "-crf", strconv.Itoa(opts.CRF),
		"-threads", strconv.Itoa(x264Threads(opts.Height)),
		"-x264-params", "rc-lookahead=" + strconv.Itoa(x264Lookahead(opts.ChunkFrames)),
		"-pix_fmt", "yuv420p",
		"-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
		"-r", strconv.Itoa(opts.FPS),
		"-movflags", "+faststart",
		// The output name is a temp file without an .mp4 suffix, so name
		// the muxer explicitly.
		"-f", "mp4", out,
	}
}

// x264Threads is x264's thread count for frames height pixels tall: one
// per 128 rows (8 rows of macroblocks), 1 to 8. x264's bitstream depends on
// its thread count, and left to itself x264 takes that from the host (1.5
// threads per CPU), so the same frames made one MP4 on a 1-CPU host and
// another on a 2-CPU one. Taken from the frame size, a job's MP4 is the same
// bytes on every host with the same ffmpeg. Frame threads pay off only on
// frames with many macroblocks: at 64×64 one thread spends about a quarter
// less CPU than two and finishes sooner after the last frame.
func x264Threads(height int) int { return min(8, max(1, (height+127)/128)) }

// mediumLookahead is the rc-lookahead of x264's preset medium: how many
// frames it analyses before it encodes one (for its macroblock tree and
// frame types).
const mediumLookahead = 40

// x264Lookahead is the rc-lookahead for chunks of chunkFrames frames (0 =
// not known): at most one chunk. With the preset's 40, x264 encoded almost
// nothing of a 48-frame video before its last chunk came, and all of it
// after: the job waited about 18 ms for ffmpeg after the last chunk, 10 ms
// with one chunk of lookahead. On reel-tiny's output (16-frame chunks) the
// file came out 2% smaller at a PSNR 0.05 dB lower.
func x264Lookahead(chunkFrames int) int {
	if chunkFrames <= 0 {
		return mediumLookahead
	}
	return min(chunkFrames, mediumLookahead)
}

// ffmpegProc is one running ffmpeg encoding into a temporary file.
type ffmpegProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	bw     *bufio.Writer
	stderr *tailBuffer
	out    string // temporary output, renamed by the writer on success

	done    chan struct{} // closed when the process has been reaped
	waitErr error         // Wait's error with stderr; valid after done

	inputEnded bool  // endInput ran
	inputErr   error // endInput's flush or close error, reported by finish
}

// startFFmpeg starts bin writing to out. ctx cancellation kills the process
// (exec.CommandContext), and on Linux the kernel kills it if we die
// (Pdeathsig, see procattr_linux.go).
//
// Pdeathsig fires when the OS thread that forked the child exits, not only
// when the process does, and the Go runtime ends a thread whenever a
// goroutine exits while locked to it — something other packages (GPU
// bindings, for one) do. So ffmpeg is started and waited for on a goroutine
// that keeps its thread locked for ffmpeg's whole life: that thread cannot
// be handed to anyone else, so it only exits with our process.
func startFFmpeg(ctx context.Context, bin string, opts Options, out string) (*ffmpegProc, error) {
	cmd := exec.CommandContext(ctx, bin, ffmpegArgs(opts, out)...)
	cmd.WaitDelay = waitDelay
	cmd.SysProcAttr = childProcAttr()
	stderr := &tailBuffer{limit: stderrLimit}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	p := &ffmpegProc{
		cmd:    cmd,
		stdin:  stdin,
		bw:     bufio.NewWriterSize(stdin, 1<<20),
		stderr: stderr,
		out:    out,
		done:   make(chan struct{}),
	}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		if err := cmd.Wait(); err != nil {
			p.waitErr = p.describe(err)
		}
		close(p.done)
	}()
	if err := <-started; err != nil {
		_ = stdin.Close()
		return nil, err
	}
	return p, nil
}

// write feeds one raw frame; an error means ffmpeg went away (EPIPE) or
// the context was cancelled.
func (p *ffmpegProc) write(frame []byte) error {
	_, err := p.bw.Write(frame)
	return err
}

// flush pushes buffered frames to ffmpeg so it encodes as chunks arrive
// rather than at Close.
func (p *ffmpegProc) flush() error { return p.bw.Flush() }

// endInput flushes and closes stdin, so ffmpeg drains its encoder and
// writes the file while the caller does other work; finish then waits.
// Calls after the first do nothing.
func (p *ffmpegProc) endInput() {
	if p.inputEnded {
		return
	}
	p.inputEnded = true
	ferr := p.bw.Flush()
	cerr := p.stdin.Close()
	switch {
	case ferr != nil:
		p.inputErr = ferr
	case cerr != nil && !errors.Is(cerr, os.ErrClosed):
		p.inputErr = cerr
	}
}

// finish ends the input (if endInput has not) and waits; the error carries
// ffmpeg's stderr tail.
func (p *ffmpegProc) finish() error {
	p.endInput()
	if err := p.wait(); err != nil {
		return err
	}
	if p.inputErr != nil {
		return p.describe(p.inputErr)
	}
	return nil
}

// kill stops ffmpeg now and reaps it, so no process outlives the job.
func (p *ffmpegProc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	_ = p.stdin.Close()
	_ = p.wait()
}

// wait blocks until ffmpeg has exited and been reaped.
func (p *ffmpegProc) wait() error {
	<-p.done
	return p.waitErr
}

// describe wraps err with ffmpeg's captured stderr.
func (p *ffmpegProc) describe(err error) error {
	if msg := p.stderr.String(); msg != "" {
		return fmt.Errorf("ffmpeg: %w: %s", err, msg)
	}
	return fmt.Errorf("ffmpeg: %w", err)
}

// pid is the process id, for tests that check the process is gone.
func (p *ffmpegProc) pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// tailBuffer keeps the last limit bytes written to it. exec copies stderr
// from a goroutine while we read it after Wait, so it is locked.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	cut   bool
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(trimSpace(t.buf))
	if t.cut {
		s = "…" + s
	}
	return s
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && (b[0] == '\n' || b[0] == ' ') {
		b = b[1:]
	}
	return b
}

// resolveFFmpeg turns Options.FFmpeg into a binary path, or an error saying
// why the pure-Go path is used. "" looks ffmpeg up on PATH.
func resolveFFmpeg(setting string) (string, error) {
	switch setting {
	case "none":
		return "", errors.New(`ffmpeg disabled (FFmpeg: "none")`)
	case "":
		p, err := exec.LookPath("ffmpeg")
		if err != nil {
			return "", fmt.Errorf("ffmpeg not found on PATH: %w", err)
		}
		return p, nil
	default:
		p, err := exec.LookPath(setting)
		if err != nil {
			return "", fmt.Errorf("ffmpeg %q not usable: %w", setting, err)
		}
		return p, nil
	}
}
