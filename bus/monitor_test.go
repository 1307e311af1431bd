package bus_test

import (
	"strings"
	"testing"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
)

// Issue 13 item 9: the monitoring port has no auth, so it is never bound
// beyond loopback (before, it followed --host: 0.0.0.0 exposed /connz).
func TestMonitorStaysOnLoopback(t *testing.T) {
	for _, host := range []string{"0.0.0.0", "192.0.2.1", "::"} {
		_, err := bus.StartServer(bus.ServerConfig{DataDir: t.TempDir(), Port: -1, Host: "127.0.0.1", HTTPPort: -1, HTTPHost: host}, bustest.Logger(t))
		if err == nil || !strings.Contains(err.Error(), "monitoring port has no auth") {
			t.Errorf("monitor on %s: %v", host, err)
		}
	}
	s, err := bus.StartServer(bus.ServerConfig{DataDir: t.TempDir(), Port: -1, Host: "0.0.0.0", HTTPPort: -1}, bustest.Logger(t))
	if err != nil {
		t.Fatalf("clients on 0.0.0.0, monitor on its loopback default: %v", err)
	}
	s.Shutdown()
}
