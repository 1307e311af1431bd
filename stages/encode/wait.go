package encode

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
)

// errChunkWait is the cause when the next chunk did not come within
// Config.ChunkWait.
var errChunkWait = errors.New("chunk wait exceeded")

// next waits for the next followed chunk, at most ChunkWait.
func (h *Handler) next(ctx context.Context, f stages.Follower) (string, *protocol.Envelope, error) {
	wctx, cancel := context.WithTimeoutCause(ctx, h.cfg.ChunkWait, errChunkWait)
	defer cancel()
	subject, env, err := f.Next(wctx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(wctx), errChunkWait) {
		return "", nil, errChunkWait
	}
	return subject, env, err
}

// missing lists the chunks not yet written or pending, from next on.
func missing(next int, pending map[int][]byte, count int) string {
	var out []string
	for i := next; i < count; i++ {
		if pending[i] == nil {
			out = append(out, strconv.Itoa(i))
		}
	}
	return strings.Join(out, ", ")
}
