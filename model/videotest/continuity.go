// Package videotest measures properties of generated videos that tests
// assert: continuity (no seam between frames), for segmented generation,
// extension and remix.
package videotest

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrSeam is wrapped by Continuity.Check's errors.
var ErrSeam = errors.New("videotest: video has a seam")

// MinObjectPixels is how many object pixels a frame needs for its centroid
// to count: fewer (the object is off screen or not drawn) leaves the frame
// out of the centroid track.
const MinObjectPixels = 20

// Continuity is what Measure finds in a video of RGB24 frames.
type Continuity struct {
	// Diffs[i] is the mean absolute difference of frames i and i+1 over
	// every byte (0–255).
	Diffs []float64
	// Centroids[i] is frame i's object centroid (x, y) in pixels, NaN
	// where the frame has fewer than MinObjectPixels object pixels.
	Centroids [][2]float64
}

// Measure computes Diffs and Centroids of frames frames of w×h RGB24
// pixels, frame-major (model.ToRGB24's layout); object says whether a
// pixel belongs to the object (e.g. "is red").
func Measure(rgb []byte, w, h int, object func(r, g, b byte) bool) (Continuity, error) {
	size := 3 * w * h
	if w <= 0 || h <= 0 || len(rgb)%size != 0 || len(rgb) < 2*size {
		return Continuity{}, fmt.Errorf("videotest: %d bytes are not two or more %dx%d RGB24 frames", len(rgb), w, h)
	}
	n := len(rgb) / size
	var c Continuity
	for f := 0; f < n; f++ {
		fr := rgb[f*size : (f+1)*size]
		if f+1 < n {
			next := rgb[(f+1)*size : (f+2)*size]
			var sum int
			for i, v := range fr {
				d := int(v) - int(next[i])
				sum += max(d, -d)
			}
			c.Diffs = append(c.Diffs, float64(sum)/float64(size))
		}
		var x, y float64
		var k int
		for p := 0; p < w*h; p++ {
			if object(fr[3*p], fr[3*p+1], fr[3*p+2]) {
				x += float64(p % w)
				y += float64(p / w)
				k++
			}
		}
		if k < MinObjectPixels {
			c.Centroids = append(c.Centroids, [2]float64{math.NaN(), math.NaN()})
		} else {
			c.Centroids = append(c.Centroids, [2]float64{x / float64(k), y / float64(k)})
		}
	}
	return c, nil
}

// MedianDiff is the median of Diffs.
func (c Continuity) MedianDiff() float64 {
	s := slices.Clone(c.Diffs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MaxDiff is the largest of Diffs and the frame i at which it is (between
// frames i and i+1).
func (c Continuity) MaxDiff() (float64, int) {
	i := 0
	for j, d := range c.Diffs {
		if d > c.Diffs[i] {
			i = j
		}
	}
	return c.Diffs[i], i
}

// MaxJump is the largest centroid move between consecutive frames that
// both show the object, and the first of those frames (−1 if no two
// consecutive frames do).
func (c Continuity) MaxJump() (float64, int) {
	best, at := 0.0, -1
	for i := 0; i+1 < len(c.Centroids); i++ {
		a, b := c.Centroids[i], c.Centroids[i+1]
		if math.IsNaN(a[0]) || math.IsNaN(b[0]) {
			continue
		}
		if d := math.Hypot(b[0]-a[0], b[1]-a[1]); d > best || at < 0 {
			best, at = d, i
		}
	}
	return best, at
}

// Visible is the number of frames that show the object.
func (c Continuity) Visible() int {
	n := 0
	for _, p := range c.Centroids {
		if !math.IsNaN(p[0]) {
			n++
		}
	}
	return n
}

// Check passes when the largest frame-to-frame difference is at most
// maxRatio times the median one and the object's centroid never jumps
// more than maxJump pixels between frames; the seam test uses 4
// and 4. A video whose object is never visible in two consecutive frames
// fails too: it shows nothing to follow.
func (c Continuity) Check(maxRatio, maxJump float64) error {
	med := c.MedianDiff()
	if d, i := c.MaxDiff(); d > maxRatio*med {
		return fmt.Errorf("%w: frames %d→%d differ by %.2f, %.1f× the median %.2f (limit %.1f×)", ErrSeam, i, i+1, d, d/med, med, maxRatio)
	}
	j, i := c.MaxJump()
	if i < 0 {
		return fmt.Errorf("%w: the object is not visible in two consecutive frames", ErrSeam)
	}
	if j > maxJump {
		return fmt.Errorf("%w: the object's centroid jumps %.1f px at frames %d→%d (limit %.1f)", ErrSeam, j, i, i+1, maxJump)
	}
	return nil
}
