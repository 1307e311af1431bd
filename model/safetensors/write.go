package safetensors

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Write writes tensors and metadata as a safetensors file. Tensors are laid
// out in name order with contiguous offsets; the JSON header is compact,
// escaped like Python's json.dumps (ASCII only), with "__metadata__" last
// and its keys sorted, and padded with spaces to a multiple of 8 bytes so
// the data buffer starts aligned. An empty or nil metadata map writes no
// "__metadata__" entry. The caller's slice is not reordered.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	const file = "(writing)"
	sorted := make([]*Tensor, len(tensors))
	for i := range tensors {
		sorted[i] = &tensors[i]
	}
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].Name < sorted[b].Name })

	var h strings.Builder
	h.WriteByte('{')
	off := 0
	for i, t := range sorted {
		if t.Name == metadataKey {
			return newErr(file, t.Name, ErrInvalidHeader, "reserved name")
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return newErr(file, t.Name, ErrDuplicate, "")
		}
		numel := 1
		for _, d := range t.Shape {
			if d < 0 {
				return newErr(file, t.Name, ErrBadShape, "shape %v", t.Shape)
			}
			if d != 0 && numel > maxInt/d {
				return newErr(file, t.Name, ErrTooLarge, "shape %v", t.Shape)
			}
			numel *= d
		}
		size, err := t.DType.ByteSize(numel)
		if err != nil {
			return newErr(file, t.Name, err, "shape %v dtype %q", t.Shape, t.DType)
		}
		if size != len(t.Data) {
			return newErr(file, t.Name, ErrSizeMismatch, "shape %v of %s needs %d bytes, Data has %d", t.Shape, t.DType, size, len(t.Data))
		}
		if i > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, t.Name)
		h.WriteString(`:{"dtype":`)
		writeJSONString(&h, string(t.DType))
		h.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, off+size)
		off += size
	}
	if len(metadata) > 0 {
		if len(sorted) > 0 {
			h.WriteByte(',')
		}
		h.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderSize {
		return newErr(file, "", ErrHeaderTooLarge, "header length %d", h.Len())
	}

	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, h.String()); err != nil {
		return err
	}
	for _, t := range sorted {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// writeJSONString writes s as a JSON string the way Python's json.dumps
// does with ensure_ascii=True, so headers match the reference writer byte
// for byte: short escapes for \" \\ \n \r \t \b \f, \u00XX for other
// control bytes, and \uXXXX (surrogate pairs above the BMP) for non-ASCII.
// Invalid UTF-8 is written as U+FFFD.
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	u := func(r rune) {
		b.WriteString(`\u`)
		b.WriteByte(hex[r>>12&0xf])
		b.WriteByte(hex[r>>8&0xf])
		b.WriteByte(hex[r>>4&0xf])
		b.WriteByte(hex[r&0xf])
	}
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			u(r)
		case r < 0x80:
			b.WriteByte(byte(r))
		case r < 0x10000:
			u(r)
		default:
			r1, r2 := utf16.EncodeRune(r)
			u(r1)
			u(r2)
		}
	}
	b.WriteByte('"')
}
