package bus_test

import (
	"strings"
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
)

// A failed connect names the servers but never the credentials a URL
// carries (REEL_NATS=nats://user:secret@host ends up in logs and errors).
func TestConnectErrorRedactsURLCredentials(t *testing.T) {
	for name, url := range map[string]string{
		"one":       "nats://reel:s3cret@127.0.0.1:1",
		"several":   "nats://127.0.0.1:1, nats://reel:s3cret@127.0.0.1:2",
		"no scheme": "reel:s3cret@127.0.0.1:1",
		"token":     "nats://s3cret@127.0.0.1:1",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := bus.Connect(bustest.Ctx(t, 10*time.Second), bus.ConnectConfig{URL: url}, bustest.Logger(t))
			if err == nil {
				t.Fatal("connected to a closed port")
			}
			if msg := err.Error(); strings.Contains(msg, "s3cret") || !strings.Contains(msg, "127.0.0.1:1") {
				t.Fatalf("error %q: leaks the secret or does not name the server", msg)
			}
		})
	}
}
