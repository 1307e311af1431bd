package video

import (
	"image/color"
	"math"
	"slices"
)

// colorHist counts a video's exact RGB colours as frames arrive, so that
// the GIF's histogram is built while the next chunks are decoded and once
// the stream ends what is left is per-colour work (the palette, medianCut,
// and one nearest search per distinct colour, paletteIndex) and one lookup
// per pixel. (Keeping each pixel's colour id instead would save that
// lookup, about 5 ms on reel-tiny's default job and hidden behind ffmpeg's
// finish anyway, for 4 bytes a pixel: more than the frames themselves.)
type colorHist struct {
	ids    map[uint32]int32 // 0xRRGGBB → index into colors
	colors []histColor      // distinct colours in order of first appearance
}

// histColor is one distinct colour, how many pixels have it, and its index
// in colorHist.colors (which medianCut reorders a copy of). 12 bytes: a
// long, noisy video has hundreds of thousands of distinct colours.
type histColor struct {
	c  [3]uint8
	n  uint32 // saturates; only the palette's weights use it
	id int32
}

func newColorHist() *colorHist { return &colorHist{ids: make(map[uint32]int32)} }

// key is a colour's map key.
func key(r, g, b uint8) uint32 { return uint32(r)<<16 | uint32(g)<<8 | uint32(b) }

// add counts one packed RGB24 frame.
func (h *colorHist) add(rgb []byte) {
	for i := 0; i+2 < len(rgb); i += 3 {
		key := key(rgb[i], rgb[i+1], rgb[i+2])
		id, ok := h.ids[key]
		if !ok {
			id = int32(len(h.colors))
			h.ids[key] = id
			h.colors = append(h.colors, histColor{c: [3]uint8{rgb[i], rgb[i+1], rgb[i+2]}, id: id})
		}
		if c := &h.colors[id]; c.n < math.MaxUint32 {
			c.n++
		}
	}
}

// medianCut builds a palette of at most n colours from the histogram:
// repeatedly split the box with the widest channel range (the first such
// box on ties) at its pixel-weighted median along that channel; each
// palette entry is its box's pixel-weighted mean. Every pixel counts (no
// subsampling), and the colours enter in order of first appearance, so the
// palette depends only on the frames. box[id] is the entry made from the
// box colour id ended in: usually, not always, its nearest entry.
func medianCut(colors []histColor, n int) (pal color.Palette, box []uint8) {
	box = make([]uint8, len(colors))
	if len(colors) == 0 {
		return color.Palette{color.RGBA{0, 0, 0, 255}}, box
	}
	e := slices.Clone(colors) // boxes are ranges of e, sorted in place
	scratch := make([]histColor, len(e))
	boxes := []cutBox{newCutBox(e, 0, len(e))}
	for len(boxes) < n {
		bi := -1
		for i, b := range boxes {
			if b.rng > 0 && (bi < 0 || b.rng > boxes[bi].rng) {
				bi = i
			}
		}
		if bi < 0 {
			break // every box is a single colour
		}
		b := boxes[bi]
		sortByChannel(e[b.lo:b.hi], scratch[:b.hi-b.lo], b.ch)
		m := weightedMedian(e[b.lo:b.hi]) + b.lo
		boxes[bi] = newCutBox(e, b.lo, m)
		boxes = append(boxes, newCutBox(e, m, b.hi))
	}
	pal = make(color.Palette, 0, len(boxes))
	for bi, b := range boxes {
		var s [3]int
		l := 0
		for _, p := range e[b.lo:b.hi] {
			box[p.id] = uint8(bi)
			n := int(p.n)
			s[0] += n * int(p.c[0])
			s[1] += n * int(p.c[1])
			s[2] += n * int(p.c[2])
			l += n
		}
		l = max(1, l)
		pal = append(pal, color.RGBA{uint8((s[0] + l/2) / l), uint8((s[1] + l/2) / l), uint8((s[2] + l/2) / l), 255})
	}
	return pal, box
}

// cutBox is the range e[lo:hi] of distinct colours and its widest channel.
type cutBox struct{ lo, hi, ch, rng int }

func newCutBox(e []histColor, lo, hi int) cutBox {
	b := cutBox{lo: lo, hi: hi}
	b.ch, b.rng = widest(e[lo:hi])
	return b
}

// widest returns the channel with the largest range in b and that range.
func widest(b []histColor) (ch, rng int) {
	lo, hi := [3]uint8{255, 255, 255}, [3]uint8{}
	for _, p := range b {
		for c := 0; c < 3; c++ {
			lo[c] = min(lo[c], p.c[c])
			hi[c] = max(hi[c], p.c[c])
		}
	}
	for c := 0; c < 3; c++ {
		if r := int(hi[c]) - int(lo[c]); r > rng {
			ch, rng = c, r
		}
	}
	return ch, rng
}

// sortByChannel sorts b by channel ch with a stable counting sort (the
// values are bytes), so the split is the same on every run and linear in
// the box size. scratch must be as long as b.
func sortByChannel(b, scratch []histColor, ch int) {
	var start [257]int
	for _, p := range b {
		start[int(p.c[ch])+1]++
	}
	for v := 1; v < len(start); v++ {
		start[v] += start[v-1]
	}
	for _, p := range b {
		v := p.c[ch]
		scratch[start[v]] = p
		start[v]++
	}
	copy(b, scratch)
}

// weightedMedian is where to split b (len ≥ 2): the first index at which
// the pixels before it reach half of b's pixels, kept inside (0, len(b)) so
// both halves are non-empty.
func weightedMedian(b []histColor) int {
	total := 0
	for _, p := range b {
		total += int(p.n)
	}
	acc := 0
	for i, p := range b {
		acc += int(p.n)
		if 2*acc >= total {
			return min(i+1, len(b)-1)
		}
	}
	return len(b) - 1
}

// paletteIndex finds each colour's nearest palette entry under a
// green-weighted distance (the eye is most sensitive to green), the lowest
// index on ties. The search starts from a hint (the colour's own median-cut
// box, close to the answer, so the bound is tight from the start) and goes
// outwards in order of green from the query's green, stopping in a
// direction once the green term alone exceeds the best distance: the same
// answer as a full scan, at a fraction of the cost.
type paletteIndex struct {
	rgb   [][3]int // palette colours
	order []int    // palette indices sorted by green, then index
}

func newPaletteIndex(pal color.Palette) *paletteIndex {
	x := &paletteIndex{rgb: make([][3]int, len(pal)), order: make([]int, len(pal))}
	for i, c := range pal {
		r, g, b, _ := c.RGBA()
		x.rgb[i] = [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
		x.order[i] = i
	}
	slices.SortStableFunc(x.order, func(a, b int) int { return x.rgb[a][1] - x.rgb[b][1] })
	return x
}

// distance is the weighted squared distance the GIF quantiser minimises.
func distance(a, b [3]int) int {
	dr, dg, db := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return 2*dr*dr + 4*dg*dg + 3*db*db
}

// nearest returns the index of the palette entry nearest to c; hint is
// any valid index, ideally a near one.
func (x *paletteIndex) nearest(c [3]uint8, hint uint8) uint8 {
	q := [3]int{int(c[0]), int(c[1]), int(c[2])}
	// First entry whose green is ≥ the query's.
	mid, _ := slices.BinarySearchFunc(x.order, q[1], func(i, g int) int { return x.rgb[i][1] - g })
	best, bd := int(hint), distance(q, x.rgb[hint])
	try := func(i int) {
		if d := distance(q, x.rgb[i]); d < bd || (d == bd && i < best) {
			best, bd = i, d
		}
	}
	for up, down := mid, mid-1; up < len(x.order) || down >= 0; {
		if up < len(x.order) {
			i := x.order[up]
			if dg := x.rgb[i][1] - q[1]; 4*dg*dg > bd {
				up = len(x.order)
			} else {
				try(i)
				up++
			}
		}
		if down >= 0 {
			i := x.order[down]
			if dg := q[1] - x.rgb[i][1]; 4*dg*dg > bd {
				down = -1
			} else {
				try(i)
				down--
			}
		}
	}
	return uint8(best)
}
