package video

// Colour conversion shared by both encoder paths.
//
// Both paths produce BT.709, limited ("tv") range, 4:2:0 video: that is what
// the ffmpeg path asks swscale for (-vf scale=out_color_matrix=bt709:out_range=tv)
// and what the pure-Go SPS signals in its VUI (colour_primaries =
// transfer_characteristics = matrix_coefficients = 1, video_full_range_flag = 0),
// so a player renders the two outputs with the same matrix. The pure-Go path
// stores these YUV bytes losslessly (I_PCM), which is what the tests compare
// against.
//
// The conversion is integer fixed point (16 fractional bits) rather than
// float64 so the bytes are identical on every architecture: the Go compiler may
// fuse x*y+z into an FMA on arm64/ppc64/s390x, which would change rounding.

// BT.709 coefficients scaled by 219/255 (luma) or 224/255 (chroma) and 2^16.
// Each chroma row sums to zero so grey maps to exactly 128.
const (
	yR, yG, yB    = 11966, 40254, 4064
	cbR, cbG, cbB = -6595, -22189, 28784
	crR, crG, crB = 28784, -26145, -2639
	fixShift      = 16
)

// yuv420Size is the size in bytes of one planar I420 frame.
func yuv420Size(w, h int) int { return w*h + 2*(w/2)*(h/2) }

// RGBToYUV420 converts one packed RGB24 frame (w*h*3 bytes, w and h even) to
// planar I420 (Y plane, then Cb, then Cr), BT.709 limited range. dst is reused
// when it has the capacity.
//
// Chroma is the average of the four full-resolution chroma values of each 2×2
// block (centre siting); ffmpeg's rawvideo yuv420p output of the pure-Go file
// returns exactly these bytes.
func RGBToYUV420(dst, rgb []byte, w, h int) []byte {
	n := yuv420Size(w, h)
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	yp := dst[:w*h]
	cbp := dst[w*h : w*h+(w/2)*(h/2)]
	crp := dst[w*h+(w/2)*(h/2):]
	for y := 0; y < h; y++ {
		row := rgb[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			r, g, b := int32(row[3*x]), int32(row[3*x+1]), int32(row[3*x+2])
			yp[y*w+x] = uint8((yR*r + yG*g + yB*b + (16 << fixShift) + (1 << (fixShift - 1))) >> fixShift)
		}
	}
	cw := w / 2
	for cy := 0; cy < h/2; cy++ {
		for cx := 0; cx < cw; cx++ {
			var sb, sr int32
			for dy := 0; dy < 2; dy++ {
				p := rgb[((2*cy+dy)*w+2*cx)*3:]
				for dx := 0; dx < 2; dx++ {
					r, g, b := int32(p[3*dx]), int32(p[3*dx+1]), int32(p[3*dx+2])
					sb += cbR*r + cbG*g + cbB*b
					sr += crR*r + crG*g + crB*b
				}
			}
			// Sum of four values: divide by 4 and by 2^16 in one shift, with
			// the 128 offset added first so the shift rounds a positive value.
			const sh = fixShift + 2
			cbp[cy*cw+cx] = clampChroma((sb + (128 << sh) + (1 << (sh - 1))) >> sh)
			crp[cy*cw+cx] = clampChroma((sr + (128 << sh) + (1 << (sh - 1))) >> sh)
		}
	}
	return dst
}

// clampChroma keeps chroma inside the limited range 16..240. With the
// coefficients above it never leaves it; the clamp documents the invariant.
func clampChroma(v int32) uint8 {
	if v < 16 {
		return 16
	}
	if v > 240 {
		return 240
	}
	return uint8(v)
}
