package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// MaxDepth bounds how deeply maps and arrays may nest in a message read
// from the bus. reel's own messages nest three levels; the bound only
// keeps a hostile message from exhausting a stage's stack.
const MaxDepth = 32

// errBounds is the cause of every rejection by checkBounds.
var errBounds = errors.New("msgpack")

// Unmarshal decodes msgpack bytes from an untrusted peer into v, after
// checking that every length they declare fits in the bytes themselves.
//
// msgpack/v5 preallocates a map[string]any with the length its header
// declares (Decoder.DecodeMap has no allocation limit), so eight bytes
// declaring a map of two billion entries make the decoder ask for tens of
// gigabytes and the kernel kill the stage. The library has no option
// that bounds it, hence this hand-written walk: it reads the message once,
// allocates nothing, and refuses a length larger than the bytes left,
// nesting deeper than MaxDepth, and msgpack extension types. Once it passes, no declared length can
// exceed the message's own size.
func Unmarshal(data []byte, v any) error {
	if err := checkBounds(data); err != nil {
		return err
	}
	return msgpack.Unmarshal(data, v)
}

// checkBounds walks the first msgpack value in data without recursion.
func checkBounds(data []byte) error {
	// open[i] counts the values still to read at nesting level i.
	open := make([]uint64, 1, 8)
	open[0] = 1
	i := 0
	left := func() uint64 { return uint64(len(data) - i) }
	// length reads a big-endian length of size bytes after the type byte.
	length := func(size int) (uint64, error) {
		if len(data)-i < size {
			return 0, fmt.Errorf("%w: truncated at byte %d", errBounds, i)
		}
		var n uint64
		switch size {
		case 1:
			n = uint64(data[i])
		case 2:
			n = uint64(binary.BigEndian.Uint16(data[i:]))
		case 4:
			n = uint64(binary.BigEndian.Uint32(data[i:]))
		}
		i += size
		return n, nil
	}
	for len(open) > 0 {
		top := len(open) - 1
		if open[top] == 0 {
			open = open[:top]
			continue
		}
		open[top]--
		if i >= len(data) {
			return fmt.Errorf("%w: truncated at byte %d", errBounds, i)
		}
		at := i
		b := data[i]
		i++
		var skip, items uint64
		container := false
		var err error
		switch {
		case b <= 0x7f, b >= 0xe0, b == 0xc0, b == 0xc2, b == 0xc3:
		case b&0xf0 == 0x80:
			items, container = 2*uint64(b&0x0f), true
		case b&0xf0 == 0x90:
			items, container = uint64(b&0x0f), true
		case b&0xe0 == 0xa0:
			skip = uint64(b & 0x1f)
		case b == 0xc4, b == 0xd9:
			skip, err = length(1)
		case b == 0xc5, b == 0xda:
			skip, err = length(2)
		case b == 0xc6, b == 0xdb:
			skip, err = length(4)
		case b == 0xcc, b == 0xd0:
			skip = 1
		case b == 0xcd, b == 0xd1:
			skip = 2
		case b == 0xca, b == 0xce, b == 0xd2:
			skip = 4
		case b == 0xcb, b == 0xcf, b == 0xd3:
			skip = 8
		case b >= 0xc7 && b <= 0xc9, b >= 0xd4 && b <= 0xd8:
			// msgpack/v5 reads a map or an array header out of an
			// extension's payload and then goes on past the payload, so
			// an extension cannot be skipped safely. reel's protocol
			// uses none.
			return fmt.Errorf("%w: extension type 0x%02x at byte %d (the reel protocol uses no msgpack extensions)", errBounds, b, at)
		case b == 0xdc:
			items, err = length(2)
			container = true
		case b == 0xdd:
			items, err = length(4)
			container = true
		case b == 0xde:
			items, err = length(2)
			items, container = 2*items, true
		case b == 0xdf:
			items, err = length(4)
			items, container = 2*items, true
		default: // 0xc1 is never used
			return fmt.Errorf("%w: invalid type byte 0x%02x at byte %d", errBounds, b, at)
		}
		if err != nil {
			return err
		}
		if skip > left() {
			return fmt.Errorf("%w: a value at byte %d declares %d bytes, %d remain", errBounds, at, skip, left())
		}
		i += int(skip)
		if !container {
			continue
		}
		// Every element takes at least one byte.
		if items > left() {
			return fmt.Errorf("%w: a container at byte %d declares %d elements, %d bytes remain", errBounds, at, items, left())
		}
		if len(open) > MaxDepth {
			return fmt.Errorf("%w: nested deeper than %d at byte %d", errBounds, MaxDepth, at)
		}
		open = append(open, items)
	}
	return nil
}
