// Command generate times whole 48-frame generations with the pure-Go engine,
// the same work as pytorch_generate.py: encode the prompt and the negative
// prompt "", 30 steps with guidance 5 and shift 3, decode the 3 chunks.
// run.sh runs both side by side.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"runtime"
	"slices"
	"time"

	"github.com/reel-video/reel/model"
)

func main() {
	runs := flag.Int("runs", 3, "timed generations")
	dit := flag.String("dit", "", "DiT checkpoint (default: the embedded FP8 one)")
	prompt := flag.String("prompt", "a red circle moving right", "prompt")
	flag.Parse()
	if *runs < 1 {
		log.Fatal("-runs must be at least 1")
	}

	e, err := model.Load(model.Options{DiTPath: *dit})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	generate := func(seed int64, steps int) (te, sa, de time.Duration) {
		t0 := time.Now()
		cond, err := e.EncodeText(ctx, *prompt)
		if err != nil {
			log.Fatal(err)
		}
		uncond, err := e.EncodeText(ctx, "")
		if err != nil {
			log.Fatal(err)
		}
		t1 := time.Now()
		p := model.SampleParams{Frames: 48, Steps: steps, Guidance: 5, Shift: 3, Seed: seed}
		lat, err := e.Sample(ctx, cond, uncond, p, nil)
		if err != nil {
			log.Fatal(err)
		}
		t2 := time.Now()
		tl := e.Config().LatentFrames(p.Frames)
		for i := 0; i < tl/e.Config().LatentFramesPerChunk; i++ {
			vid, err := e.DecodeChunk(ctx, model.LatentChunk(lat, tl, i))
			if err != nil {
				log.Fatal(err)
			}
			_ = model.ToRGB24(vid)
		}
		t3 := time.Now()
		return t1.Sub(t0), t2.Sub(t1), t3.Sub(t2)
	}
	generate(0, 1) // warm-up, as the PyTorch script does
	var totals []float64
	for r := 0; r < *runs; r++ {
		te, sa, de := generate(int64(r+1), 30)
		tot := (te + sa + de).Seconds()
		totals = append(totals, tot)
		fmt.Printf("go run %d: text %.3fs sample %.3fs decode %.3fs total %.3fs\n", r, te.Seconds(), sa.Seconds(), de.Seconds(), tot)
	}
	slices.Sort(totals)
	fp8 := "float32"
	if e.DiTFP8() {
		fp8 = "FP8"
	}
	fmt.Printf("go median total %.3fs over %d runs, DiT %s, GOMAXPROCS %d, %s\n", totals[len(totals)/2], *runs, fp8, runtime.GOMAXPROCS(0), runtime.Version())
}
