package safetensors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestWriteRoundTrip(t *testing.T) {
	in := []Tensor{
		{Name: "z.weight", DType: BF16, Shape: []int{2, 2}, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{Name: "a", DType: F8_E4M3, Shape: []int{3}, Data: []byte{0x7e, 0x00, 0xfe}},
		{Name: "scalar", DType: F32, Shape: []int{}, Data: []byte{0, 0, 0x80, 0x3f}},
		{Name: "empty", DType: F32, Shape: []int{0, 4}, Data: nil},
		{Name: "日本\"\n", DType: U8, Shape: []int{1}, Data: []byte{9}},
	}
	meta := map[string]string{"format": "x", "config": `{"a": "é"}`}
	var buf bytes.Buffer
	if err := Write(&buf, in, meta); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	hlen := int(b[0]) | int(b[1])<<8
	if hlen%8 != 0 {
		t.Errorf("header length %d not a multiple of 8", hlen)
	}
	for _, c := range b[8 : 8+hlen] {
		if c >= 0x80 {
			t.Fatalf("header has non-ASCII byte %#x; Python's json.dumps escapes it", c)
		}
	}
	f, err := Parse("rt", b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, meta) {
		t.Errorf("metadata %v, want %v", f.Metadata, meta)
	}
	if len(f.Tensors) != len(in) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(in))
	}
	for _, want := range in {
		got, ok := f.Get(want.Name)
		if !ok {
			t.Fatalf("tensor %q missing", want.Name)
		}
		if got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("tensor %q = %+v, want %+v", want.Name, got, want)
		}
	}
	if in[0].Name != "z.weight" {
		t.Error("Write reordered the caller's slice")
	}
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []Tensor
		err  error
	}{
		{"size mismatch", []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}, ErrSizeMismatch},
		{"unknown dtype", []Tensor{{Name: "a", DType: "F7", Shape: []int{1}, Data: make([]byte, 1)}}, ErrUnknownDType},
		{"negative dim", []Tensor{{Name: "a", DType: U8, Shape: []int{-1}}}, ErrBadShape},
		{"duplicate", []Tensor{{Name: "a", DType: U8, Shape: []int{1}, Data: []byte{1}}, {Name: "a", DType: U8, Shape: []int{1}, Data: []byte{1}}}, ErrDuplicate},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int{1}, Data: []byte{1}}}, ErrInvalidHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.in, nil)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if buf.Len() != 0 {
				t.Error("Write wrote bytes before failing validation")
			}
		})
	}
}

// The reference model's files were written by reel_tiny.py's writer; ours
// must reproduce them byte for byte (tensor order, JSON spelling, padding).
func TestWriteMatchesReferenceWriter(t *testing.T) {
	dir := "../../../shared/refmodel"
	for _, name := range []string{"reel-tiny.dit.bf16.safetensors", "reel-tiny.text.bf16.safetensors", "reel-tiny.vae.bf16.safetensors"} {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Skipf("reference file not available (%v); it lives in ../shared/refmodel", err)
			}
			f, err := Parse(name, want)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, f.Tensors, f.Metadata); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("rewritten file differs from the reference (%d vs %d bytes)", buf.Len(), len(want))
			}
		})
	}
}
