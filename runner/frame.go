package runner

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxFrame bounds one frame's body: larger length prefixes are garbage, not
// a message (a 16-frame 1080p RGB24 chunk is about 100 MB).
const MaxFrame = 1 << 30

// frameReader reads frames and remembers the first bytes of the frame being
// read, so that a runner printing text on stdout, at start-up or between
// answers, is reported with what it printed.
type frameReader struct {
	r     *bufio.Reader
	first []byte // up to 64 leading bytes of the current frame
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 1<<16)}
}

func (f *frameReader) remember(b []byte) {
	if n := 64 - len(f.first); n > 0 {
		f.first = append(f.first, b[:min(n, len(b))]...)
	}
}

// next returns the next frame's body; io.EOF at a clean end of stream.
func (f *frameReader) next() ([]byte, error) {
	var head [4]byte
	f.first = f.first[:0]
	n, err := io.ReadFull(f.r, head[:])
	f.remember(head[:n])
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, f.garbage("stdout ended inside a frame length")
	}
	size := binary.BigEndian.Uint32(head[:])
	if size > MaxFrame || size == 0 {
		return nil, f.garbage(fmt.Sprintf("frame length %d is not plausible", size))
	}
	body := make([]byte, size)
	n, err = io.ReadFull(f.r, body)
	f.remember(body[:n])
	if err != nil {
		return nil, f.garbage(fmt.Sprintf("stdout ended %d bytes into a %d-byte frame", n, size))
	}
	return body, nil
}

// garbage describes a frame that is not the protocol, quoting its start.
func (f *frameReader) garbage(what string) error {
	if n := min(f.r.Buffered(), 64-len(f.first)); n > 0 { // what else already arrived
		more, _ := f.r.Peek(n)
		f.remember(more)
	}
	return fmt.Errorf("%w: %s; the runner wrote %s", ErrProtocol, what, quote(f.first))
}

func quote(b []byte) string {
	if utf8.Valid(b) {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("% x", b)
}

// writeFrame writes one frame (length prefix and body in one Write, so a
// frame is never interleaved with another writer's).
func writeFrame(w io.Writer, body []byte) error {
	if len(body) > MaxFrame {
		return errors.New("runner: frame too large")
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err := w.Write(buf)
	return err
}
