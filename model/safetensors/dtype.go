package safetensors

// DType is a safetensors element type, spelled as in the file header.
type DType string

// The dtypes of the safetensors specification (safetensors/src/tensor.rs).
const (
	BOOL        DType = "BOOL"
	F4          DType = "F4"
	F6_E2M3     DType = "F6_E2M3"
	F6_E3M2     DType = "F6_E3M2"
	U8          DType = "U8"
	I8          DType = "I8"
	F8_E5M2     DType = "F8_E5M2"
	F8_E4M3     DType = "F8_E4M3"
	F8_E8M0     DType = "F8_E8M0"
	F8_E4M3FNUZ DType = "F8_E4M3FNUZ"
	F8_E5M2FNUZ DType = "F8_E5M2FNUZ"
	I16         DType = "I16"
	U16         DType = "U16"
	F16         DType = "F16"
	BF16        DType = "BF16"
	I32         DType = "I32"
	U32         DType = "U32"
	F32         DType = "F32"
	C64         DType = "C64"
	F64         DType = "F64"
	I64         DType = "I64"
	U64         DType = "U64"
)

// dtypeBits is the element size in bits; sub-byte types (F4, F6_*) exist in
// the spec, and a tensor of them is valid only if its total is whole bytes.
var dtypeBits = map[DType]int{
	BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8,
	F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8,
	I16: 16, U16: 16, F16: 16, BF16: 16,
	I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
}

// Bits returns the element size in bits and whether the dtype is known.
func (d DType) Bits() (int, bool) {
	b, ok := dtypeBits[d]
	return b, ok
}

// Valid reports whether d is a dtype of the specification.
func (d DType) Valid() bool {
	_, ok := dtypeBits[d]
	return ok
}

// ByteSize returns the number of bytes that numel elements of d occupy.
// It fails for unknown dtypes and for sub-byte totals that are not whole
// bytes (the reference implementation's MisalignedSlice).
func (d DType) ByteSize(numel int) (int, error) {
	bits, ok := dtypeBits[d]
	if !ok {
		return 0, ErrUnknownDType
	}
	if numel > 0 && numel > maxInt/bits {
		return 0, ErrTooLarge
	}
	total := numel * bits
	if total%8 != 0 {
		return 0, ErrMisaligned
	}
	return total / 8, nil
}

const maxInt = int(^uint(0) >> 1)
