package bus

import (
	"context"

	"github.com/reel-video/reel/bus/protocol"
)

// DecodeMsg decodes a stage message received on subject and resolves its
// claim. A prompt (reel.prompt.<job>) may come in either prompt encoding,
// msgpack envelope or plain JSON (protocol.DecodePromptMessage); its job is
// the subject's. Every other subject carries the msgpack envelope.
func (b *Bus) DecodeMsg(ctx context.Context, subject string, data []byte) (*protocol.Envelope, error) {
	if s, err := protocol.ParseSubject(subject); err == nil && s.Kind == protocol.KindPrompt {
		return protocol.DecodePromptMessage(s.Job, data)
	}
	return b.Decode(ctx, data)
}
