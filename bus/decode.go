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
		// A claim-checked prompt body (reel never writes one: prompts are
		// small) is resolved first, then checked like an inline one.
		if !protocol.IsJSON(data) {
			if env, err := protocol.UnmarshalEnvelope(data); err == nil && env.Claim != nil {
				if err := b.Resolve(ctx, env); err != nil {
					return env, err
				}
				if data, err = env.Marshal(); err != nil {
					return env, err
				}
			}
		}
		return protocol.DecodePromptMessage(s.Job, data)
	}
	return b.Decode(ctx, data)
}
