package bus

import (
	"bytes"
	"io"

	"github.com/rs/zerolog"
)

type zerologLogger = zerolog.Logger

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
