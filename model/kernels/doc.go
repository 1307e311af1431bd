// Package kernels holds the numeric kernels of the pure-Go engine: matrix
// multiply with float32 or FP8 (E4M3FN, per-output-row scale) weights,
// attention, normalisation, activations, 3-D convolution and pixel shuffle.
//
// All tensors are dense row-major []float32. The API is deliberately small and
// stable; implementations may be replaced by faster ones (assembly, packing,
// parallelism) as long as results stay within float32 rounding of the naive
// definitions in this package's tests.
package kernels
