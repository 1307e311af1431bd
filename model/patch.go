package model

// patchify turns a latent z [C, T, H, W] into tokens [T·(H/2)·(W/2), C·4]:
// token (t, h2, w2) row-major, features (c, ph, pw) → c·4 + ph·2 + pw
// (reel_tiny.py DiT.patchify).
func patchify(tok, z []float32, c, t, h, w int) {
	h2, w2 := h/2, w/2
	f := c * 4
	for ti := 0; ti < t; ti++ {
		for y := 0; y < h2; y++ {
			for x := 0; x < w2; x++ {
				row := tok[((ti*h2+y)*w2+x)*f:]
				for ch := 0; ch < c; ch++ {
					src := z[((ch*t+ti)*h+2*y)*w+2*x:]
					row[ch*4+0] = src[0]
					row[ch*4+1] = src[1]
					row[ch*4+2] = src[w]
					row[ch*4+3] = src[w+1]
				}
			}
		}
	}
}

// unpatchify is the inverse of patchify: tokens [T·(H/2)·(W/2), C·4] → z.
func unpatchify(z, tok []float32, c, t, h, w int) {
	h2, w2 := h/2, w/2
	f := c * 4
	for ti := 0; ti < t; ti++ {
		for y := 0; y < h2; y++ {
			for x := 0; x < w2; x++ {
				row := tok[((ti*h2+y)*w2+x)*f:]
				for ch := 0; ch < c; ch++ {
					dst := z[((ch*t+ti)*h+2*y)*w+2*x:]
					dst[0] = row[ch*4+0]
					dst[1] = row[ch*4+1]
					dst[w] = row[ch*4+2]
					dst[w+1] = row[ch*4+3]
				}
			}
		}
	}
}
