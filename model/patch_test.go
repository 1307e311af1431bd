package model

import (
	"slices"
	"testing"
)

// TestPatchify checks the token layout against reel_tiny.py's view/permute
// by index arithmetic, and that unpatchify inverts it.
func TestPatchify(t *testing.T) {
	const c, tl, h, w = 8, 3, 8, 8
	z := make([]float32, c*tl*h*w)
	for i := range z {
		z[i] = float32(i)
	}
	tok := make([]float32, len(z))
	patchify(tok, z, c, tl, h, w)
	for ti := 0; ti < tl; ti++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for ch := 0; ch < c; ch++ {
					n := (ti*(h/2)+y/2)*(w/2) + x/2
					f := ch*4 + (y%2)*2 + x%2
					if got, want := tok[n*c*4+f], z[((ch*tl+ti)*h+y)*w+x]; got != want {
						t.Fatalf("token %d feature %d = %v, want %v", n, f, got, want)
					}
				}
			}
		}
	}
	back := make([]float32, len(z))
	unpatchify(back, tok, c, tl, h, w)
	if !slices.Equal(back, z) {
		t.Error("unpatchify(patchify(z)) != z")
	}
}
