package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// build assembles a file from a literal header and data buffer, with no
// padding or checks, so tests can express every malformed case directly.
func build(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestParseRules(t *testing.T) {
	six := make([]byte, 6)
	big := make([]byte, 8)
	binary.LittleEndian.PutUint64(big, MaxHeaderSize+1)
	overLen := make([]byte, 8)
	binary.LittleEndian.PutUint64(overLen, 1000)

	tests := []struct {
		name   string
		file   []byte
		err    error  // nil: must parse
		tensor string // tensor the error must name ("" : none required)
	}{
		{"valid two tensors", build(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, six), nil, ""},
		{"valid with metadata and padding", build(`{"__metadata__":{"k":"v"},"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}   `, []byte{7}), nil, ""},
		{"valid empty", build(`{}`, nil), nil, ""},
		{"valid zero-size tensor", build(`{"z":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), nil, ""},
		{"valid F4 even count", build(`{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}`, []byte{1, 2}), nil, ""},
		{"fp8 dtypes", build(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2}), nil, ""},

		{"shorter than 8 bytes", []byte{1, 2, 3}, ErrTruncated, ""},
		{"header over 100 MB", big, ErrHeaderTooLarge, ""},
		{"header length beyond file", append(overLen, '{', '}'), ErrFileLength, ""},
		{"invalid JSON", build(`{"a":`, nil), ErrInvalidHeader, ""},
		{"invalid UTF-8", build("{\"\xff\":1}", nil), ErrInvalidHeader, ""},
		{"not an object", build(`[1,2]`, nil), ErrInvalidHeader, ""},
		{"trailing data", build(`{} {}`, nil), ErrInvalidHeader, ""},
		{"entry not an object", build(`{"a":3}`, nil), ErrInvalidHeader, "a"},
		{"entry null", build(`{"a":null}`, nil), ErrInvalidHeader, "a"},
		{"missing data_offsets", build(`{"a":{"dtype":"U8","shape":[1]}}`, []byte{1}), ErrInvalidHeader, "a"},
		{"unknown field", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}}`, []byte{1}), ErrInvalidHeader, "a"},
		{"metadata not strings", build(`{"__metadata__":{"k":1}}`, nil), ErrInvalidHeader, ""},
		{"metadata null", build(`{"__metadata__":null}`, nil), ErrInvalidHeader, ""},
		{"unknown dtype", build(`{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), ErrUnknownDType, "a"},
		{"negative dimension", build(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, []byte{1}), ErrBadShape, "a"},
		{"fractional dimension", build(`{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, []byte{1}), ErrInvalidHeader, "a"},
		{"numel overflow", build(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,1]}}`, []byte{1}), ErrTooLarge, "a"},
		{"bytes overflow", build(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,1]}}`, []byte{1}), ErrTooLarge, "a"},
		{"F4 odd count", build(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, []byte{1, 2}), ErrMisaligned, "a"},
		{"duplicate name", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2}), ErrDuplicate, "a"},
		{"duplicate metadata", build(`{"__metadata__":{},"__metadata__":{}}`, nil), ErrDuplicate, ""},
		{"size mismatch", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrSizeMismatch, "a"},
		{"one offset", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1]}}`, []byte{1}), ErrOffsets, "a"},
		{"end before begin", build(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}}`, []byte{1}), ErrOffsets, "a"},
		{"negative offset", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}`, []byte{1}), ErrOffsets, "a"},
		{"not from 0", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2}), ErrOffsets, "a"},
		{"gap", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`, []byte{1, 2, 3}), ErrOffsets, "b"},
		{"overlap", build(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, []byte{1, 2, 3}), ErrOffsets, "b"},
		{"zero-size tensor inside another", build(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"z":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}}`, []byte{1, 2}), ErrOffsets, ""},
		{"offset beyond buffer", build(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, []byte{1}), ErrFileLength, "a"},
		{"extra bytes after tensors", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1, 2}), ErrFileLength, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("test.safetensors", tc.file)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if f.Metadata == nil {
					t.Error("Metadata is nil, want an empty map")
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !strings.Contains(err.Error(), "test.safetensors") {
				t.Errorf("error %q does not name the file", err)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not *Error", err)
			}
			if tc.tensor != "" && se.Tensor != tc.tensor {
				t.Errorf("error names tensor %q, want %q (%v)", se.Tensor, tc.tensor, err)
			}
		})
	}
}

func TestParseContents(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6}
	f, err := Parse("x", build(`{"b":{"dtype":"F16","shape":[1,2],"data_offsets":[2,6]},"__metadata__":{"k":"v"},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, data))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 2 || f.Tensors[0].Name != "a" || f.Tensors[1].Name != "b" {
		t.Fatalf("tensors not sorted by name: %+v", f.Tensors)
	}
	b, ok := f.Get("b")
	if !ok || b.DType != F16 || len(b.Shape) != 2 || b.Shape[1] != 2 || !bytes.Equal(b.Data, data[2:6]) {
		t.Fatalf("Get(b) = %+v, %v", b, ok)
	}
	if _, ok := f.Get("c"); ok {
		t.Error("Get(c) found a tensor that does not exist")
	}
	if f.Metadata["k"] != "v" || len(f.Metadata) != 1 {
		t.Errorf("metadata %v", f.Metadata)
	}
	// Appending to one tensor's data must not clobber the next one.
	a, _ := f.Get("a")
	_ = append(a.Data, 99)
	if data[2] != 3 {
		t.Error("append to tensor a overwrote tensor b")
	}
}

func TestReadFileTestVectors(t *testing.T) {
	f, err := ReadFile("../testdata/reel-tiny.testvectors.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	ids, ok := f.Get("text0.ids")
	if !ok || ids.DType != I64 || len(ids.Shape) != 1 || ids.Shape[0] != 96 {
		t.Fatalf("text0.ids = %+v", ids)
	}
	// The first id is BOS (256), as reel_tiny.py tokenize produces.
	if got := binary.LittleEndian.Uint64(ids.Data); got != 256 {
		t.Errorf("text0.ids[0] = %d, want 256", got)
	}
	if _, err := ReadFile("does-not-exist.safetensors"); err == nil {
		t.Error("ReadFile of a missing file succeeded")
	}
}

// ReadHeader gives what Parse gives but the data, from the header alone,
// and refuses a broken header, or one that does not fit the file, as Parse
// does.
func TestReadHeader(t *testing.T) {
	const path = "../testdata/reel-tiny.testvectors.safetensors"
	whole, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Tensors) != len(whole.Tensors) || len(h.Metadata) != len(whole.Metadata) {
		t.Fatalf("header: %d tensors, %d metadata; the file: %d, %d", len(h.Tensors), len(h.Metadata), len(whole.Tensors), len(whole.Metadata))
	}
	for i, w := range whole.Tensors {
		g := h.Tensors[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || g.Data != nil {
			t.Errorf("tensor %d: %s %s %v (data %d bytes), want %s %s %v and no data", i, g.Name, g.DType, g.Shape, len(g.Data), w.Name, w.DType, w.Shape)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"short", []byte{1, 2, 3}, ErrTruncated},
		{"huge header", binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1), ErrHeaderTooLarge},
		{"header past the end", build(`{"a":`, nil)[:9], ErrFileLength},
		{"bad json", build(`{"a":1}`, nil), ErrInvalidHeader},
		{"unknown dtype", build(`{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), ErrUnknownDType},
		{"data cut short", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, []byte{0, 0, 0, 0}), ErrFileLength},
		{"shape and size disagree", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, []byte{0, 0, 0, 0}), ErrSizeMismatch},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, tc.file, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadHeader(p); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err %v, want %v naming the file", tc.name, err, tc.want)
		}
	}
}
