package model

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
)

// TestChunkIndependence decodes the chunks of a 48-frame latent one by one
// in reverse order (and concurrently) and requires frames bit-identical to
// decoding them all in one DecodeChunks call.
func TestChunkIndependence(t *testing.T) {
	e, err := fp8Engine()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const frames = 48
	tl := e.Config().LatentFrames(frames)
	lat := Noise(7, latentChannels*tl*latentPlane) // any latent exercises the decoder
	all, err := e.DecodeChunks(ctx, lat, tl)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3*frames*pixelSide*pixelSide {
		t.Fatalf("DecodeChunks returned %d values", len(all))
	}
	chunks := tl / latentFrames
	plane := pixelSide * pixelSide
	compare := func(how string, i int, vid []float32) {
		t.Helper()
		for c := 0; c < 3; c++ {
			for f := 0; f < framesPerChunk; f++ {
				got := vid[(c*framesPerChunk+f)*plane:][:plane]
				want := all[(c*frames+i*framesPerChunk+f)*plane:][:plane]
				for p := range got {
					if math.Float32bits(got[p]) != math.Float32bits(want[p]) {
						t.Fatalf("%s: chunk %d channel %d frame %d pixel %d: %v, one call gave %v", how, i, c, f, p, got[p], want[p])
					}
				}
			}
		}
	}
	for i := chunks - 1; i >= 0; i-- {
		vid, err := e.DecodeChunk(ctx, LatentChunk(lat, tl, i))
		if err != nil {
			t.Fatal(err)
		}
		compare("reverse order", i, vid)
	}
	var wg sync.WaitGroup
	vids := make([][]float32, chunks)
	for i := range vids {
		wg.Go(func() { vids[i], _ = e.DecodeChunk(ctx, LatentChunk(lat, tl, i)) })
	}
	wg.Wait()
	for i, vid := range vids {
		compare("concurrent", i, vid)
	}
}

func TestLatentChunk(t *testing.T) {
	const tl = 12
	lat := make([]float32, latentChannels*tl*latentPlane)
	for i := range lat {
		lat[i] = float32(i)
	}
	for i := 0; i < tl/latentFrames; i++ {
		ch := LatentChunk(lat, tl, i)
		for c := 0; c < latentChannels; c++ {
			for f := 0; f < latentFrames; f++ {
				for p := 0; p < latentPlane; p++ {
					got := ch[(c*latentFrames+f)*latentPlane+p]
					want := lat[(c*tl+i*latentFrames+f)*latentPlane+p]
					if got != want {
						t.Fatalf("chunk %d [%d,%d,%d] = %v, want %v", i, c, f, p, got, want)
					}
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("LatentChunk past the end did not panic")
		}
	}()
	LatentChunk(lat, tl, 3)
}

// TestDecodeLatent: the whole-latent decoder gives [3, 4T, 64, 64] for any
// T, equals DecodeChunk on a single chunk, and differs from chunked
// decoding on a longer latent (its temporal convolutions cross chunks).
func TestDecodeLatent(t *testing.T) {
	e := fp8(t)
	ctx := context.Background()
	for _, tl := range []int{1, 4, 12} {
		lat := Noise(int64(tl), latentChannels*tl*latentPlane)
		vid, err := e.DecodeLatent(ctx, lat, tl)
		if err != nil {
			t.Fatal(err)
		}
		if len(vid) != 3*4*tl*pixelSide*pixelSide {
			t.Fatalf("T=%d: %d values", tl, len(vid))
		}
		switch tl {
		case 4:
			one, _ := e.DecodeChunk(ctx, lat)
			if !slices.Equal(one, vid) {
				t.Error("DecodeLatent of one chunk differs from DecodeChunk")
			}
		case 12:
			chunked, _ := e.DecodeChunks(ctx, lat, tl)
			if slices.Equal(chunked, vid) {
				t.Error("whole-latent decode equals chunked decode: chunk borders not crossed?")
			}
		}
	}
	if _, err := e.DecodeLatent(ctx, make([]float32, 10), 1); !errors.Is(err, ErrInput) {
		t.Errorf("short latent: %v", err)
	}
}
