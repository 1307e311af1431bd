package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/reel-video/reel/api"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/reel-video/reel/internal/tooltest"
)

// The web UI in a real browser: headless Chromium enters an API key and a
// prompt, submits it through the page, watches the queue show it
// completed, and waits until the page's <video> reaches readyState 4
// (HAVE_ENOUGH_DATA) with the right duration; then it saves a screenshot
// ($REEL_SCREENSHOT_DIR, else the test's temporary directory).
func TestBrowserUI(t *testing.T) {
	browser := tooltest.Chromium(t)
	keys, err := api.NewKeys("ui-key")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, api.Config{Keys: keys}, false)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("mute-audio", true), chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 820))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer tcancel()

	err = chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible("#create-form"),
		chromedp.SendKeys("#api-key", "ui-key"),
		chromedp.Click("#key-form button"),
		// The seconds choices come from the model's manifest.
		chromedp.WaitReady(`#seconds option[value="2"]`),
		chromedp.SendKeys("#prompt", "a red circle moving right"),
		chromedp.SetValue("#seconds", "2"),
		chromedp.SetValue("#steps", "4"),
		chromedp.SetValue("#seed", "3"),
		chromedp.Click("#generate"),
		chromedp.WaitVisible(`#queue li[data-status="completed"]`),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	type page struct {
		Ready    int     `json:"ready"`
		Duration float64 `json:"duration"`
		Status   string  `json:"status"`
		Queue    int     `json:"queue"`
		Prompt   string  `json:"prompt"`
		Poster   string  `json:"poster"`
	}
	got, err := chromedp.Run(ctx, chromedp.Poll[page](`(() => {
		const v = document.querySelector('#video');
		if (!v || v.readyState !== 4 || !(v.duration > 0)) return false;
		return {ready: v.readyState, duration: v.duration, poster: v.poster,
			status: document.querySelector('#queue li[data-status="completed"] .status').textContent,
			queue: document.querySelectorAll('#queue li').length,
			prompt: document.querySelector('#queue li .prompt').textContent};
	})()`, chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		t.Fatalf("waiting for the video to play: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("page: %+v", got)
	if got.Ready != 4 || got.Duration != 2 || got.Status != "completed 100%" || got.Queue != 1 ||
		got.Prompt != "a red circle moving right" || !strings.Contains(got.Poster, "variant=thumbnail") {
		t.Errorf("page: %+v", got)
	}
	dir := envconfig.String(envconfig.ScreenshotDir)
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "reel-ui.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))

	// Remix and extend the finished video through the page's forms: each
	// new video is selected, completes, and plays with its own length.
	for _, c := range []struct {
		derivation string
		actions    []chromedp.Action[chromedp.Void]
		duration   float64
	}{
		{"remix", []chromedp.Action[chromedp.Void]{chromedp.SetValue("#remix-prompt", "a blue circle moving right"),
			chromedp.SetValue("#remix-strength", "0.6"), chromedp.Click("#remix")}, 2},
		{"extension", []chromedp.Action[chromedp.Void]{chromedp.WaitReady(`#extend-seconds option[value="4"]`),
			chromedp.SetValue("#extend-seconds", "4"), chromedp.Click("#extend")}, 6},
	} {
		sel := `#queue li[data-derivation="` + c.derivation + `"][data-status="completed"]`
		steps := append([]chromedp.Action[chromedp.Void]{
			chromedp.Click(`#queue li[data-derivation=""] .prompt`), // the first video
			chromedp.WaitVisible("#remix-form"),
		}, c.actions...)
		err := chromedp.Do(ctx, append(steps, chromedp.WaitVisible(sel))...)
		if err != nil {
			t.Fatalf("%s through the page: %v", c.derivation, err)
		}
		type played struct {
			Duration float64 `json:"duration"`
			Meta     string  `json:"meta"`
			Error    string  `json:"error"`
		}
		got, err := chromedp.Run(ctx, chromedp.Poll[played](`(() => {
			const v = document.querySelector('#video');
			const li = document.querySelector('`+sel+`');
			if (!li || !li.classList.contains('selected') || v.readyState !== 4 || !(v.duration > 0)) return false;
			return {duration: v.duration, meta: li.querySelector('.meta').textContent,
				error: document.querySelector('#derive-error').textContent};
		})()`, chromedp.WithPollingInterval(50*time.Millisecond)))
		if err != nil {
			t.Fatalf("waiting for the %s to play: %v", c.derivation, err)
		}
		if got.Duration != c.duration || !strings.Contains(got.Meta, c.derivation+" of ") || got.Error != "" {
			t.Errorf("%s: %+v, want %v s", c.derivation, got, c.duration)
		}
	}
	if shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "reel-ui-derived.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
