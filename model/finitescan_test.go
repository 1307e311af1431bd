package model

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestCheckFP8FindsEveryNaN puts a NaN code (both signs) at every position
// of tensors of several lengths, around and inside the eight-byte words the
// scan reads first, among every finite code: each must be refused with its
// own row and column, and the finite codes alone accepted.
func TestCheckFP8FindsEveryNaN(t *testing.T) {
	var finite []uint8
	for c := 0; c < 256; c++ {
		if c&0x7f != e4m3NaN {
			finite = append(finite, uint8(c))
		}
	}
	scale := []float32{1}
	for _, n := range []int{1, 7, 8, 9, 41, 254} {
		codes := finite[:n]
		if err := checkFP8("f", "w", codes, scale, n); err != nil {
			t.Fatalf("n=%d: finite codes refused: %v", n, err)
		}
		for i := range n {
			for _, nan := range []uint8{0x7f, 0xff} {
				bad := append([]uint8(nil), codes...)
				bad[i] = nan
				const in = 5
				err := checkFP8("f", "w", bad, scale, in)
				want := fmt.Sprintf("row %d, column %d is NaN", i/in, i%in)
				if !errors.Is(err, ErrWeights) || !strings.Contains(err.Error(), want) {
					t.Fatalf("n=%d: NaN 0x%02x at %d: %v, want %q", n, nan, i, err, want)
				}
			}
		}
	}
}
