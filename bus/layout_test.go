package bus_test

import (
	"testing"
	"time"

	"github.com/reel-video/reel/bus"
	"github.com/reel-video/reel/bus/bustest"
)

// StoreBytes is what Setup reserves: the server refuses a layout that does
// not fit its disk limit, and Server.Fit sizes layouts from it.
func TestLayoutReservesStoreBytes(t *testing.T) {
	lc := bus.LayoutConfig{MaxBytes: 8 << 20}
	_, b := bustest.Start(t, bustest.Options{Layout: lc})
	ai, err := b.JS.AccountInfo(bustest.Ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := int64(ai.ReservedStore), lc.StoreBytes(); got != want {
		t.Fatalf("reserved %d bytes, StoreBytes says %d", got, want)
	}
}

// A layout larger than the server's disk limit is lowered to fit it, and
// then sets up.
func TestServerFitsLayoutToItsDiskLimit(t *testing.T) {
	s, err := bus.StartServer(bus.ServerConfig{DataDir: t.TempDir(), Port: -1, MaxStore: 20 << 20}, bustest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	lc := s.Fit(bus.LayoutConfig{})
	if lc.StoreBytes() > 20<<20 || lc.MaxBytes < 7<<20 {
		t.Fatalf("fitted layout: max bytes %d, reserves %d of 20 MiB", lc.MaxBytes, lc.StoreBytes())
	}
	bustest.Open(t, s, bus.LayoutConfig{}) // fails without the fit: insufficient storage resources
}
