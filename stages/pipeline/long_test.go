package pipeline_test

// Long videos, extension and remix, end to end on a real NATS server with
// the real engine: the must-shows.

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/model/videotest"
	"github.com/reel-video/reel/orchestrator"
)

const (
	redCircle  = "a red circle moving right"
	blueCircle = "a blue circle moving right"
	frameBytes = 64 * 64 * 3
	// The seam limits: the largest frame-to-frame difference at
	// most 4× the median, the centroid never jumping more than 4 px.
	seamRatio, seamJump = 4, 4
)

func isRed(r, g, b byte) bool  { return r > 140 && g < 110 && b < 110 }
func isBlue(r, g, b byte) bool { return b > 140 && r < 110 && g < 110 }

// longSettings: few steps keep the tests fast; 10 still draws the prompt.
func longSettings(frames int, seed int64) protocol.Settings {
	s := protocol.DefaultSettings()
	s.Frames, s.Steps, s.Seed = frames, 10, seed
	return s
}

// videoRGB decodes job j's MP4 to RGB24 frames with ffmpeg (a missing
// ffmpeg skips, or fails under REEL_VIDEO_REQUIRE_TOOLS).
func videoRGB(t *testing.T, b *bus.Bus, j *orchestrator.Job) []byte {
	t.Helper()
	if j.State != protocol.StateSucceeded || j.Video == nil {
		t.Fatalf("job %s: %s %q", j.ID, j.State, j.Error)
	}
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		if envconfig.Bool(envconfig.VideoRequireTools) {
			t.Fatal("ffmpeg is required (REEL_VIDEO_REQUIRE_TOOLS is set)")
		}
		t.Skip("ffmpeg not installed")
	}
	mp4, err := b.GetBlob(bustest.Ctx(t, time.Minute), j.Video.Object)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), j.ID+".mp4")
	if err := os.WriteFile(path, mp4, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(bin, "-v", "error", "-nostdin", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg decode: %v: %s", err, stderr.String())
	}
	if n := out.Len() / frameBytes; n != j.Settings.Frames || out.Len()%frameBytes != 0 {
		t.Fatalf("%s decodes to %d bytes, want %d frames", j.ID, out.Len(), j.Settings.Frames)
	}
	return out.Bytes()
}

func measure(t *testing.T, rgb []byte, object func(r, g, b byte) bool) videotest.Continuity {
	t.Helper()
	c, err := videotest.Measure(rgb, 64, 64, object)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func logContinuity(t *testing.T, what string, c videotest.Continuity) {
	d, i := c.MaxDiff()
	j, ji := c.MaxJump()
	t.Logf("%s: median diff %.2f, max %.2f at %d→%d (%.1f×), max jump %.2f px at %d, object in %d/%d frames",
		what, c.MedianDiff(), d, i, i+1, d/c.MedianDiff(), j, ji, c.Visible(), len(c.Centroids))
}

// publishedAt is when subject's message was stored.
func publishedAt(t *testing.T, b *bus.Bus, subject string) time.Time {
	t.Helper()
	m, err := b.LastMsg(bustest.Ctx(t, 10*time.Second), subject)
	if err != nil {
		t.Fatal(err)
	}
	return m.Time
}

// TestLongVideoContinuity: a 192-frame video (four trained windows' worth)
// denoised in windows has no seam, and its first latent chunks are decoded
// while the last windows are still denoising; four independently generated
// 48-frame clips spliced together fail the same check.
func TestLongVideoContinuity(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	serve(t, b, all(1))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	j := submitWait(t, store, redCircle, longSettings(192, 1))
	c := measure(t, videoRGB(t, b, j), isRed)
	logContinuity(t, "segmented", c)
	if err := c.Check(seamRatio, seamJump); err != nil {
		t.Errorf("segmented 192 frames: %v", err)
	}
	if c.Visible() < 190 {
		t.Errorf("the red circle is in %d of 192 frames", c.Visible())
	}

	// Streaming: vaedecode's first frames were out before denoise's last
	// latent chunk, and the progress counted windows.
	last := j.Settings.Chunks() - 1
	if first, end := publishedAt(t, b, protocol.FramesSubject(j.ID, 0)), publishedAt(t, b, protocol.LatentSubject(j.ID, last)); !first.Before(end) {
		t.Errorf("frames chunk 0 at %s, not before latent chunk %d at %s", first, last, end)
	}
	evs, err := store.Events(bustest.Ctx(t, time.Minute), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	windows := map[int]bool{}
	for _, ev := range evs {
		if ev.Kind == protocol.EventStep {
			if ev.Windows < 2 || ev.Window < 1 || ev.Window > ev.Windows || ev.Step < 1 || ev.Step > ev.Total {
				t.Fatalf("step event %+v: want window w of W > 1, step i of n", ev)
			}
			windows[ev.Window] = true
			if len(windows) == ev.Windows {
				break
			}
		}
	}
	if len(windows) < 2 {
		t.Errorf("step events name windows %v", windows)
	}

	// The same check bites: independent segments spliced together.
	var spliced []byte
	for seed := int64(11); seed < 15; seed++ {
		seg := submitWait(t, store, redCircle, longSettings(48, seed))
		spliced = append(spliced, videoRGB(t, b, seg)...)
	}
	cs := measure(t, spliced, isRed)
	logContinuity(t, "spliced", cs)
	if err := cs.Check(seamRatio, seamJump); !errors.Is(err, videotest.ErrSeam) {
		t.Errorf("spliced segments pass the seam check (%v)", err)
	}
}

// psnr is the PSNR of a against b over all their bytes (dB).
func psnr(a, b []byte) float64 {
	p, err := videotest.PSNR(a, b)
	if err != nil {
		return math.Inf(-1)
	}
	return p
}

// fill is the mean over frames of the object's pixels over its bounding
// box: a disc fills π/4 of it, a square all, a triangle half.
func fill(rgb []byte, object func(r, g, b byte) bool) float64 {
	var sum float64
	n := 0
	for f := 0; f+frameBytes <= len(rgb); f += frameBytes {
		fr := rgb[f : f+frameBytes]
		x0, y0, x1, y1, k := 64, 64, -1, -1, 0
		for p := range 64 * 64 {
			if object(fr[3*p], fr[3*p+1], fr[3*p+2]) {
				x, y := p%64, p/64
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
				k++
			}
		}
		if k >= videotest.MinObjectPixels {
			sum += float64(k) / float64((x1-x0+1)*(y1-y0+1))
			n++
		}
	}
	return sum / float64(max(n, 1))
}

// objectShare is the fraction of frames that show the object.
func objectShare(rgb []byte, object func(r, g, b byte) bool) float64 {
	c, _ := videotest.Measure(rgb, 64, 64, object)
	return float64(c.Visible()) / float64(len(c.Centroids))
}

// TestExtend: a 48-frame clip extended by 48 frames. The child's first
// frames are the parent's (copied, not re-decoded), its denoise published
// only the new chunks, the seam passes the continuity check, and the new
// frames still show a red circle. Then the refusals.
func TestExtend(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	serve(t, b, all(1))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	ctx := bustest.Ctx(t, 2*time.Minute)
	parent := submitWait(t, store, redCircle, longSettings(48, 1))
	prgb := videoRGB(t, b, parent)

	id, err := store.Extend(ctx, orchestrator.ExtendRequest{Job: parent.ID, Frames: 48})
	if err != nil {
		t.Fatal(err)
	}
	child := waitState(t, store, id)
	crgb := videoRGB(t, b, child)
	if child.Parent != parent.ID || child.ExtendOf != parent.ID || child.Settings.Frames != 96 || child.Prompt != redCircle {
		t.Fatalf("child record: parent %q extend_of %q frames %d prompt %q", child.Parent, child.ExtendOf, child.Settings.Frames, child.Prompt)
	}
	for _, st := range protocol.Stages() {
		if s := child.Stages[st]; s.State != protocol.StateSucceeded {
			t.Errorf("child stage %s: %s", st, s.State)
		}
	}
	for i := range 6 {
		_, err := b.LastMsg(ctx, protocol.LatentSubject(child.ID, i))
		if got, want := err == nil, i >= 3; got != want {
			t.Errorf("child latent chunk %d on the stream: %v, want %v (only the new chunks are denoised)", i, got, want)
		}
	}
	if p := psnr(crgb[:48*frameBytes], prgb); p < 38 {
		t.Errorf("child's first 48 frames vs the parent's: PSNR %.1f dB < 38", p)
	} else {
		t.Logf("child's first 48 frames vs the parent's: PSNR %.1f dB", p)
	}
	c := measure(t, crgb, isRed)
	logContinuity(t, "extension", c)
	if err := c.Check(seamRatio, seamJump); err != nil {
		t.Errorf("extension seam: %v", err)
	}
	newPart := crgb[48*frameBytes:]
	if share := objectShare(newPart, isRed); share < 0.95 {
		t.Errorf("a red object is in %.0f%% of the new frames", 100*share)
	}
	if share := objectShare(newPart, isBlue); share > 0 {
		t.Errorf("a blue object is in %.0f%% of the new frames", 100*share)
	}
	// A disc fills π/4 of its bounding box, a square all of it, a triangle
	// half: the new frames' object is nearest the disc, as the parent's.
	pf, cf := fill(prgb, isRed), fill(newPart, isRed)
	t.Logf("fill of the bounding box: parent %.2f, new frames %.2f (disc π/4 = 0.79, square 1, triangle 0.5)", pf, cf)
	for what, f := range map[string]float64{"parent": pf, "new frames": cf} {
		if d := math.Abs(f - math.Pi/4); d > math.Abs(f-1) || d > math.Abs(f-0.5) {
			t.Errorf("the %s' object fills %.2f of its box: not a circle", what, f)
		}
	}

	// Refusals, before anything is created.
	cases := []struct {
		name string
		run  func() (string, error)
		want []string
		is   error
	}{
		{"TooLong", func() (string, error) {
			return store.Extend(ctx, orchestrator.ExtendRequest{Job: parent.ID, Frames: protocol.MaxFrames})
		}, []string{"frames", "816"}, protocol.ErrInvalid},
		{"NotFinished", func() (string, error) {
			set := longSettings(48, 1)
			if err := store.Record(ctx, protocol.Event{Job: "pending-1", Kind: protocol.EventSubmitted, Prompt: redCircle, Settings: &set, Time: time.Now()}); err != nil {
				t.Fatal(err)
			}
			for { // until the projector has made the record
				if _, err := store.Get(ctx, "pending-1"); err == nil {
					break
				} else if ctx.Err() != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			return store.Extend(ctx, orchestrator.ExtendRequest{Job: "pending-1", Frames: 16})
		}, []string{"pending-1", "queued"}, orchestrator.ErrNotFinished},
	}
	for _, c := range cases {
		id, err := c.run()
		if !errors.Is(err, c.is) || id != "" {
			t.Errorf("%s: id %q, err %v: want %v", c.name, id, err, c.is)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v does not say %q", c.name, err, w)
			}
		}
	}
	// The parent's last latent chunk aged out: extension and remix say which
	// subject and the retention.
	gone := protocol.LatentSubject(parent.ID, 2)
	if err := b.Stream.Purge(ctx, jetstream.WithPurgeSubject(gone)); err != nil {
		t.Fatal(err)
	}
	_, errE := store.Extend(ctx, orchestrator.ExtendRequest{Job: parent.ID, Frames: 16})
	_, errR := store.Remix(ctx, orchestrator.RemixRequest{Job: parent.ID, Prompt: blueCircle})
	for what, err := range map[string]error{"extend": errE, "remix": errR} {
		if !errors.Is(err, protocol.ErrMissing) || !strings.Contains(err.Error(), gone) || !strings.Contains(err.Error(), "retention") {
			t.Errorf("%s of a parent whose latent aged out: %v", what, err)
		}
	}
}

// corr is the Pearson correlation of the x centroids of a and b over the
// frames where both show their object.
func corr(a, b videotest.Continuity) (float64, int) {
	var xs, ys []float64
	for i := range a.Centroids {
		if x, y := a.Centroids[i][0], b.Centroids[i][0]; !math.IsNaN(x) && !math.IsNaN(y) {
			xs, ys = append(xs, x), append(ys, y)
		}
	}
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i]/n, my+ys[i]/n
	}
	var sxy, sxx, syy float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
		syy += (ys[i] - my) * (ys[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy), len(xs)
}

// TestRemix: a red circle remixed to a blue one at strength 0.6 is blue and
// moves as the parent did; at strength 1 it is a fresh generation with the
// seed.
func TestRemix(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	serve(t, b, all(1))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	ctx := bustest.Ctx(t, 2*time.Minute)
	parent := submitWait(t, store, redCircle, longSettings(96, 1))
	pc := measure(t, videoRGB(t, b, parent), isRed)

	remix := func(strength float64, seed *int64) *orchestrator.Job {
		t.Helper()
		id, err := store.Remix(ctx, orchestrator.RemixRequest{Job: parent.ID, Prompt: blueCircle, Strength: strength, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		j := waitState(t, store, id)
		if j.Parent != parent.ID || j.RemixOf != parent.ID || j.Prompt != blueCircle {
			t.Fatalf("remix record: parent %q remix_of %q prompt %q", j.Parent, j.RemixOf, j.Prompt)
		}
		return j
	}
	j := remix(0.6, nil)
	rgb := videoRGB(t, b, j)
	if blue, red := objectShare(rgb, isBlue), objectShare(rgb, isRed); blue < 0.95 || red > 0.05 {
		t.Errorf("remix at 0.6: a blue object in %.0f%% of frames, a red one in %.0f%%", 100*blue, 100*red)
	}
	r, n := corr(pc, measure(t, rgb, isBlue))
	t.Logf("centroid x tracks, parent vs remix: correlation %.3f over %d frames", r, n)
	if r < 0.8 || n < 90 {
		t.Errorf("remix centroid track correlation %.3f over %d frames, want ≥ 0.8", r, n)
	}

	seed := int64(5)
	one := remix(1, &seed)
	set := parent.Settings
	set.Seed = seed
	fresh := submitWait(t, store, blueCircle, set)
	if one.Video.FramesSHA256 != fresh.Video.FramesSHA256 {
		t.Error("remix at strength 1 differs from a fresh generation with its seed")
	}
}

// TestWindowSettingsAgainstTheModel: window settings are checked at intake
// and, where the model's default takes part, against the model's manifest
// (admission; denoise checks again for its engine).
func TestWindowSettingsAgainstTheModel(t *testing.T) {
	_, b := bustest.Start(t, bustest.Options{})
	serve(t, b, all(1))
	store := orchestrator.NewStore(b, bustest.Logger(t))
	ctx := bustest.Ctx(t, time.Minute)
	set := small()
	set.WindowFrames = 40
	if _, err := store.Submit(ctx, protocol.Request{Prompt: redCircle}, set, orchestrator.SubmitOptions{}); !errors.Is(err, protocol.ErrInvalid) || !strings.Contains(err.Error(), "window_frames") {
		t.Errorf("window 40 frames: %v", err)
	}
	set.WindowFrames, set.OverlapFrames = 0, 48 // the model's window is 48
	id, err := store.Submit(ctx, protocol.Request{Prompt: redCircle}, set, orchestrator.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j := waitState(t, store, id)
	if j.State != protocol.StateFailed || !strings.Contains(j.Error, "overlap_frames: 48 does not fit window_frames 48") {
		t.Errorf("overlap 48 on a 48-frame window: %s in %s: %q", j.State, j.FailedStage, j.Error)
	}
}
