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

	addGated   func(x *float32, n int, o, gate *float32)
	addInto    func(x *float32, n int, o *float32)
	scaleShift func(x *float32, n int, scale, shift *float32)

	// The FP8 products' float32 fallback (bf16.go).
	roundSwap func(x *float32, n int, o *float32)
	mulAdd    func(x *float32, n int, scale, bias *float32)
	mulInto   func(x *float32, n int, scale *float32)
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

// addGated does x += g ⊙ o, the product rounded before the sum (PyTorch's
// x + gate * y).
func addGated(vec *vecKernels, x, o, g []float32) {
	o, g = o[:len(x)], g[:len(x)]
	n := vec.vecN(vec.addGated != nil, len(x))
	if n > 0 {
		vec.addGated(&x[0], n, &o[0], &g[0])
	}
	for i := n; i < len(x); i++ {
		x[i] += float32(g[i] * o[i])
	}
}

// addInto does x += o.
func addInto(vec *vecKernels, x, o []float32) {
	o = o[:len(x)]
	n := vec.vecN(vec.addInto != nil, len(x))
	if n > 0 {
		vec.addInto(&x[0], n, &o[0])
	}
	for i := n; i < len(x); i++ {
		x[i] += o[i]
	}
}

// ScaleShift does x = x·(1+scale) + shift elementwise (AdaLN modulation),
// rounding like PyTorch: (1+scale) first, then the product, then the sum.
func ScaleShift(x, scale, shift []float32) { scaleShift(&defaultImpl().vec, x, scale, shift) }

func scaleShift(vec *vecKernels, x, scale, shift []float32) {
	scale, shift = scale[:len(x)], shift[:len(x)]
	n := vec.vecN(vec.scaleShift != nil, len(x))
	if n > 0 {
		vec.scaleShift(&x[0], n, &scale[0], &shift[0])
	}
	for i := n; i < len(x); i++ {
		x[i] = float32(x[i]*(1+scale[i])) + shift[i]
	}
}

// roundSwapRow writes o[k^1] = bf16(x[k]) (rounded as roundBF16, widened
// back to float32) for k < len(x), and zero into the pad an odd len(x)
// leaves: a row of A as the FP8 products' float32 fallback reads it.
func roundSwapRow(vec *vecKernels, o, x []float32) {
	n := len(x)
	o = o[:n+n&1]
	v := vec.vecN(vec.roundSwap != nil, n) // a multiple of the width, so even
	if v > 0 {
		vec.roundSwap(&x[0], v, &o[0])
	}
	for k := v; k < n; k++ {
		o[k^1] = bf16Float(roundBF16(x[k]))
	}
	if n&1 != 0 {
		o[n-1] = 0
	}
}

// mulAddRow does x = x ⊙ scale + bias (bias nil: no sum), the product
// rounded before the sum, as the BF16 kernel's epilogue.
func mulAddRow(vec *vecKernels, x, scale, bias []float32) {
	scale = scale[:len(x)]
	if bias == nil {
		v := vec.vecN(vec.mulInto != nil, len(x))
		if v > 0 {
			vec.mulInto(&x[0], v, &scale[0])
		}
		for i := v; i < len(x); i++ {
			x[i] *= scale[i]
		}
		return
	}
	bias = bias[:len(x)]
	v := vec.vecN(vec.mulAdd != nil, len(x))
	if v > 0 {
		vec.mulAdd(&x[0], v, &scale[0], &bias[0])
	}
	for i := v; i < len(x); i++ {
		x[i] = float32(x[i]*scale[i]) + bias[i]
	}
}
