package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// SchemaVersion is the envelope schema this build writes and reads.
const SchemaVersion = 1

// ErrMalformed marks a message that can never be processed (bad msgpack,
// unknown schema, wrong tensor shape): the stage terminates it and fails its
// job instead of retrying.
var ErrMalformed = errors.New("malformed message")

// ErrMissing marks input that is gone (aged out of its stream or bucket):
// retrying cannot help.
var ErrMissing = errors.New("input missing")

// Malformedf returns an error wrapping ErrMalformed.
func Malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Envelope is what every stage message carries.
type Envelope struct {
	V        int      `msgpack:"v"`
	Job      string   `msgpack:"job"`
	Stage    string   `msgpack:"stage"`   // the stage that produced the message ("submit" for prompts)
	Attempt  int      `msgpack:"attempt"` // delivery attempt of the producing message
	Settings Settings `msgpack:"settings"`
	Chunk    int      `msgpack:"chunk"`
	Count    int      `msgpack:"count"`
	Body     []byte   `msgpack:"body,omitempty"`  // msgpack of the stage body
	Claim    *Claim   `msgpack:"claim,omitempty"` // set instead of Body when the body lives in the object store
}

// Claim points at a body stored in the object store (claim check).
type Claim struct {
	Bucket string `msgpack:"bucket"`
	Name   string `msgpack:"name"`
	Size   int    `msgpack:"size"`
	SHA256 string `msgpack:"sha256"`
}

// Marshal encodes the envelope.
func (e *Envelope) Marshal() ([]byte, error) {
	if e.V == 0 {
		e.V = SchemaVersion
	}
	return msgpack.Marshal(e)
}

// UnmarshalEnvelope decodes and checks an envelope (the body is not resolved).
// Errors wrap ErrMalformed.
func UnmarshalEnvelope(data []byte) (*Envelope, error) {
	var e Envelope
	if err := Unmarshal(data, &e); err != nil {
		return nil, Malformedf("envelope: %v", err)
	}
	if e.V != SchemaVersion {
		return &e, Malformedf("envelope: unknown schema version %d (this build reads %d)", e.V, SchemaVersion)
	}
	if err := ValidJobID(e.Job); err != nil {
		return &e, Malformedf("envelope: %v", err)
	}
	if e.Body != nil && e.Claim != nil {
		return &e, Malformedf("envelope: both body and claim set")
	}
	if err := e.Settings.Validate(); err != nil {
		return &e, Malformedf("envelope settings: %v", err)
	}
	return &e, nil
}

// SetBody encodes v into the envelope body.
func (e *Envelope) SetBody(v any) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode body: %w", err)
	}
	e.Body, e.Claim = b, nil
	return nil
}

// DecodeBody decodes a resolved body into v. Errors wrap ErrMalformed.
func (e *Envelope) DecodeBody(v any) error {
	if e.Claim != nil {
		return fmt.Errorf("decode body: claim %s not resolved", e.Claim.Name)
	}
	if err := Unmarshal(e.Body, v); err != nil {
		return Malformedf("body: %v", err)
	}
	return nil
}

// Tensor dtypes.
const (
	DTypeF32 = "f32"
	DTypeU8  = "u8"
)

// Tensor is dtype + shape + little-endian bytes.
type Tensor struct {
	DType string `msgpack:"dtype"`
	Shape []int  `msgpack:"shape"`
	Data  []byte `msgpack:"data"`
}

// F32Tensor packs float32 values.
func F32Tensor(v []float32, shape ...int) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{DType: DTypeF32, Shape: append([]int(nil), shape...), Data: b}
}

// U8Tensor packs bytes.
func U8Tensor(v []byte, shape ...int) Tensor {
	return Tensor{DType: DTypeU8, Shape: append([]int(nil), shape...), Data: v}
}

func (t Tensor) check(dtype string, size int, want []int) error {
	if t.DType != dtype {
		return Malformedf("tensor dtype %q, want %q", t.DType, dtype)
	}
	if len(t.Shape) != len(want) {
		return Malformedf("tensor shape %v, want %v", t.Shape, want)
	}
	n := 1
	for i, d := range t.Shape {
		if d <= 0 || d > 1<<20 || d != want[i] {
			return Malformedf("tensor shape %v, want %v", t.Shape, want)
		}
		n *= d
	}
	if len(t.Data) != n*size {
		return Malformedf("tensor data is %d bytes, shape %v needs %d", len(t.Data), t.Shape, n*size)
	}
	return nil
}

// Float32s checks dtype and shape, and unpacks.
func (t Tensor) Float32s(shape ...int) ([]float32, error) {
	if err := t.check(DTypeF32, 4, shape); err != nil {
		return nil, err
	}
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Bytes checks dtype and shape and returns the u8 data.
func (t Tensor) Bytes(shape ...int) ([]byte, error) {
	if err := t.check(DTypeU8, 1, shape); err != nil {
		return nil, err
	}
	return t.Data, nil
}
