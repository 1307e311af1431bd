package weights

import (
	"testing"

	"github.com/reel-video/reel/bus/protocol"
)

// TestDigest: the recorded digest is the embedded files'; after new
// weights, `go generate ./model/weights/` records theirs.
func TestDigest(t *testing.T) {
	if got, want := Digest(), protocol.WeightsDigest(Text(), DiT(), VAE()); got != want {
		t.Fatalf("recorded digest %s, the embedded files' %s: run go generate ./model/weights/", got, want)
	}
}
