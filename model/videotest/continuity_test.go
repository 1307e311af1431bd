package videotest

import (
	"errors"
	"testing"
)

// square draws frames of a 4×4 white square on black at x positions xs.
func square(w, h int, xs []int) []byte {
	out := make([]byte, 3*w*h*len(xs))
	for f, x0 := range xs {
		for y := 10; y < 14; y++ {
			for x := x0; x < x0+5; x++ {
				o := 3 * ((f*h+y)*w + x)
				out[o], out[o+1], out[o+2] = 255, 255, 255
			}
		}
	}
	return out
}

func white(r, g, b byte) bool { return r > 128 && g > 128 && b > 128 }

func TestCheck(t *testing.T) {
	steady := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	jump := []int{0, 1, 2, 3, 4, 15, 16, 17, 18, 19}
	for _, tc := range []struct {
		name string
		xs   []int
		ok   bool
	}{{"steady", steady, true}, {"jump", jump, false}} {
		c, err := Measure(square(32, 24, tc.xs), 32, 24, white)
		if err != nil {
			t.Fatal(err)
		}
		if j, at := c.MaxJump(); tc.ok && (j != 1 || at != 0) {
			t.Errorf("%s: max jump %v at %d, want 1 at 0", tc.name, j, at)
		}
		err = c.Check(4, 4)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrSeam) {
			t.Errorf("%s: Check = %v", tc.name, err)
		}
	}
	if _, err := Measure(make([]byte, 3*32*24), 32, 24, white); err == nil {
		t.Error("one frame measured")
	}
	c, err := Measure(make([]byte, 3*32*24*3), 32, 24, white)
	if err != nil {
		t.Fatal(err)
	}
	if c.Visible() != 0 || c.Check(4, 4) == nil {
		t.Error("a video without the object passes")
	}
}
