package kernels

// vecKernels is one implementation of the vector loops of the activations,
// softmax and norms. Each processes a multiple of width float32 elements;
// the Go wrappers do the remainder in scalar code. Nil functions (the
// portable implementation) mean "scalar only".
type vecKernels struct {
	name     string
	width    int
	expSum   func(x *float32, n int, shift float32) float32
	gelu     func(x *float32, n int)
	silu     func(x *float32, n int)
	scaleMax func(x *float32, n int, scale float32) float32

	sumSq         func(x *float32, n int) (s, ss float64)
	sqAcc         func(acc *float64, x *float32, n int)
	normRow       func(x *float32, n int, m, s float32)
	normRowAffine func(x *float32, n int, m, s float32, w, b *float32)
	normRowW      func(x *float32, n int, s float32, w *float32)
	mulInvG       func(x, inv *float32, n int, gain float32)
}

var goVec = vecKernels{name: "go", width: 1}

// vecN returns how many leading elements of an n-element loop a vector
// function of v handles: none when it is missing (ok false).
func (v *vecKernels) vecN(ok bool, n int) int {
	if !ok {
		return 0
	}
	return v.width * (n / v.width)
}
