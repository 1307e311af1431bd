//go:build race

package mem

// raceDetector is true in a -race build, whose shadow memory multiplies a
// process's RSS (about 2× here), so peaks measured there say nothing
// about the estimates.
const raceDetector = true
