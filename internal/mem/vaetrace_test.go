package mem

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/reel-video/reel/model"
)

// TestVAETraceFollowsDecode checks the replay of a VAE decode call against
// what the real call allocates: the bytes allocated by DecodeLatent and
// the stage's RGB24 conversion (runtime.MemStats.TotalAlloc, the GC off,
// on one kernel thread so that a convolution packs exactly one panel at a
// time) equal the replay's, less its bound on the packed panels (one per
// convolution: an extra or missing activation buffer, or a scratch buffer
// sized differently, is off by more than that).
func TestVAETraceFollowsDecode(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, tt := range []struct {
		width, height, t int
	}{{64, 64, 4}, {64, 64, 12}, {96, 64, 4}} {
		t.Run(fmt.Sprintf("%dx%d/T=%d", tt.width, tt.height, tt.t), func(t *testing.T) {
			eng, err := model.Load(model.Options{Width: tt.width, Height: tt.height})
			if err != nil {
				t.Fatal(err)
			}
			m := eng.Manifest()
			e := Default(archOf(eng.Config()))
			e.Threads = 1
			lat := model.Noise(1, eng.Config().LatentSize(tt.t*m.FramesPerChunk/m.LatentFramesPerChunk))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			vid, err := eng.DecodeLatent(context.Background(), lat, tt.t)
			if err != nil {
				t.Fatal(err)
			}
			rgb := model.ToRGB24(vid)
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(rgb)
			got := int64(after.TotalAlloc - before.TotalAlloc)

			tr := e.vaeTrace(m, tt.t, 1)
			c := e.Arch.vaeGeometry(m, tt.t)
			want := tr.total - c.lat // the latent was the test's, allocated before
			convs := int64(11)       // conv_in, 2 per residual block, 3 upsamplings, conv_out
			slack := convs * gemmGarbage(1)
			t.Logf("allocated %s, replayed %s (panels bounded by %s), diff %d", FormatSize(got), FormatSize(want), FormatSize(slack), got-want)
			if got > want+64*KiB || got < want-slack {
				t.Errorf("decode allocated %s, the replay %s (panels %s of it at most): the replay does not follow the decoder",
					FormatSize(got), FormatSize(want), FormatSize(slack))
			}
		})
	}
}
