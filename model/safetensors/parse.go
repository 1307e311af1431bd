package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sort"
	"unicode/utf8"
)

// MaxHeaderSize is the largest header the format allows (MAX_HEADER_SIZE in
// the reference implementation); it bounds memory spent on hostile input.
const MaxHeaderSize = 100_000_000

const metadataKey = "__metadata__"

// Tensor is one named tensor; Data holds its little-endian, C-order bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// File is a parsed safetensors file.
type File struct {
	Metadata map[string]string
	Tensors  []Tensor // sorted by name
}

// ReadFile reads and parses the safetensors file at path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse validates and parses a whole safetensors file held in b; name is
// used only in error messages. Tensor data aliases b (no copy), so b must
// not be modified while the File is in use.
func Parse(name string, b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, newErr(name, "", ErrTruncated, "%d bytes", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderSize {
		return nil, newErr(name, "", ErrHeaderTooLarge, "header length %d", n)
	}
	if n > uint64(len(b)-8) {
		return nil, newErr(name, "", ErrFileLength, "header length %d but only %d bytes follow", n, len(b)-8)
	}
	header := b[8 : 8+n]
	data := b[8+n:]

	entries, meta, err := decodeHeader(name, header)
	if err != nil {
		return nil, err
	}
	tensors, err := validate(name, entries, int64(len(data)), data)
	if err != nil {
		return nil, err
	}
	return &File{Metadata: meta, Tensors: tensors}, nil
}

// Get returns the tensor with the given name.
func (f *File) Get(name string) (*Tensor, bool) {
	i := sort.Search(len(f.Tensors), func(i int) bool { return f.Tensors[i].Name >= name })
	if i < len(f.Tensors) && f.Tensors[i].Name == name {
		return &f.Tensors[i], true
	}
	return nil, false
}

// rawEntry is one header entry before validation.
type rawEntry struct {
	name        string
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// decodeHeader decodes the JSON header by streaming its top-level keys, so
// duplicate names are caught (encoding/json into a map keeps the last one).
func decodeHeader(file string, header []byte) ([]rawEntry, map[string]string, error) {
	if !utf8.Valid(header) {
		return nil, nil, newErr(file, "", ErrInvalidHeader, "not valid UTF-8")
	}
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, newErr(file, "", ErrInvalidHeader, "header does not start with '{'")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil { // the opening '{'
		return nil, nil, newErr(file, "", ErrInvalidHeader, "%v", err)
	}
	var entries []rawEntry
	var meta map[string]string
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, newErr(file, "", ErrInvalidHeader, "%v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, newErr(file, "", ErrInvalidHeader, "object key expected")
		}
		if seen[key] {
			return nil, nil, newErr(file, key, ErrDuplicate, "")
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, newErr(file, key, ErrInvalidHeader, "%v", err)
		}
		if key == metadataKey {
			if err := decodeStrict(raw, &meta); err != nil || meta == nil {
				return nil, nil, newErr(file, "", ErrInvalidHeader, "__metadata__ must be an object of strings: %v", err)
			}
			continue
		}
		e := rawEntry{name: key}
		if err := decodeStrict(raw, &e); err != nil {
			return nil, nil, newErr(file, key, ErrInvalidHeader, "%v", err)
		}
		if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
			return nil, nil, newErr(file, key, ErrInvalidHeader, "entry needs dtype, shape and data_offsets")
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, newErr(file, "", ErrInvalidHeader, "%v", err)
	}
	// Only padding whitespace may follow the object.
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, newErr(file, "", ErrInvalidHeader, "trailing data after the header object")
	}
	if meta == nil {
		meta = map[string]string{}
	}
	return entries, meta, nil
}

func decodeStrict(raw []byte, v any) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return errors.New("null")
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// validate checks each entry's dtype, shape and size, then that the
// entries tile the dataLen bytes of data exactly, and builds the
// name-sorted tensor list. With data nil (only the header was read) the
// tensors have no Data.
func validate(file string, entries []rawEntry, dataLen int64, data []byte) ([]Tensor, error) {
	type span struct {
		begin, end int
		idx        int
	}
	spans := make([]span, len(entries))
	tensors := make([]Tensor, len(entries))
	for i, e := range entries {
		dt := DType(*e.DType)
		if !dt.Valid() {
			return nil, newErr(file, e.name, ErrUnknownDType, "%q", *e.DType)
		}
		shape := make([]int, len(*e.Shape))
		numel := 1
		for j, d := range *e.Shape {
			if d < 0 || d > int64(maxInt) {
				return nil, newErr(file, e.name, ErrBadShape, "dimension %d is %d", j, d)
			}
			shape[j] = int(d)
			if d != 0 && numel > maxInt/int(d) {
				return nil, newErr(file, e.name, ErrTooLarge, "shape %v", *e.Shape)
			}
			numel *= int(d)
		}
		size, err := dt.ByteSize(numel)
		if err != nil {
			return nil, newErr(file, e.name, err, "shape %v dtype %s", *e.Shape, dt)
		}
		off := *e.DataOffsets
		if len(off) != 2 || off[0] < 0 || off[1] < off[0] {
			return nil, newErr(file, e.name, ErrOffsets, "data_offsets %v", off)
		}
		if off[1] > dataLen {
			return nil, newErr(file, e.name, ErrFileLength, "data_offsets %v beyond the %d-byte buffer", off, dataLen)
		}
		begin, end := int(off[0]), int(off[1])
		if end-begin != size {
			return nil, newErr(file, e.name, ErrSizeMismatch, "data_offsets %v span %d bytes, shape %v of %s needs %d", off, end-begin, *e.Shape, dt, size)
		}
		spans[i] = span{begin, end, i}
		tensors[i] = Tensor{Name: e.name, DType: dt, Shape: shape}
		if data != nil {
			// Full slice expression: appending to one tensor's Data must
			// never overwrite the next tensor's bytes.
			tensors[i].Data = data[begin:end:end]
		}
	}
	sort.Slice(spans, func(a, b int) bool {
		if spans[a].begin != spans[b].begin {
			return spans[a].begin < spans[b].begin
		}
		return spans[a].end < spans[b].end
	})
	pos := 0
	for _, s := range spans {
		if s.begin != pos {
			what := "gap"
			if s.begin < pos {
				what = "overlap"
			}
			return nil, newErr(file, entries[s.idx].name, ErrOffsets, "%s: starts at %d, previous tensor ends at %d", what, s.begin, pos)
		}
		pos = s.end
	}
	if int64(pos) != dataLen {
		return nil, newErr(file, "", ErrFileLength, "tensors end at %d but the data buffer has %d bytes", pos, dataLen)
	}
	sort.Slice(tensors, func(a, b int) bool { return tensors[a].Name < tensors[b].Name })
	return tensors, nil
}

// ReadHeader reads only the header of the safetensors file at path: its
// metadata and each tensor's name, dtype and shape (Data is nil), checked as
// Parse checks them, the data offsets against the file's size. A process
// that needs a checkpoint's config and dtypes, not its weights, reads
// kilobytes of a file that may hold many gigabytes.
func ReadHeader(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var size [8]byte
	if _, err := io.ReadFull(f, size[:]); err != nil {
		return nil, newErr(path, "", ErrTruncated, "%v", err)
	}
	n := binary.LittleEndian.Uint64(size[:])
	if n > MaxHeaderSize {
		return nil, newErr(path, "", ErrHeaderTooLarge, "header length %d", n)
	}
	if n > uint64(st.Size()-8) {
		return nil, newErr(path, "", ErrFileLength, "header length %d but only %d bytes follow", n, st.Size()-8)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, newErr(path, "", ErrFileLength, "header length %d: %v", n, err)
	}
	entries, meta, err := decodeHeader(path, header)
	if err != nil {
		return nil, err
	}
	tensors, err := validate(path, entries, st.Size()-8-int64(n), nil)
	if err != nil {
		return nil, err
	}
	return &File{Metadata: meta, Tensors: tensors}, nil
}
