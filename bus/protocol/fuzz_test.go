package protocol_test

import (
	"testing"

	"github.com/reel-video/reel/bus/protocol"
)

func seedEnvelopes(f *testing.F) {
	f.Helper()
	env := &protocol.Envelope{Job: "j1", Stage: "denoise", Settings: protocol.DefaultSettings(), Chunk: 1, Count: 3}
	_ = env.SetBody(protocol.LatentBody{Latent: protocol.F32Tensor(make([]float32, 16), 1, 4, 2, 2)})
	b, _ := env.Marshal()
	f.Add(b)
	env.Body, env.Claim = nil, &protocol.Claim{Bucket: protocol.BlobsBucket, Name: "claim/x", Size: 10, SHA256: "00"}
	b, _ = env.Marshal()
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte("\x80"))
	f.Add([]byte("\xde\x00\x01\xa1v\x01"))
}

// The decoders never panic on arbitrary input; what they accept re-encodes.
func FuzzUnmarshalEnvelope(f *testing.F) {
	seedEnvelopes(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := protocol.UnmarshalEnvelope(data)
		if err != nil {
			return
		}
		if _, err := env.Marshal(); err != nil {
			t.Fatalf("accepted envelope does not re-encode: %v", err)
		}
		var lat protocol.LatentBody
		if env.DecodeBody(&lat) == nil {
			_, _ = lat.Latent.Float32s(8, 4, 8, 8)
		}
		var fr protocol.FramesBody
		if env.DecodeBody(&fr) == nil {
			_, _ = fr.Frames.Bytes(16, 64, 64, 3)
		}
		var txt protocol.TextBody
		if env.DecodeBody(&txt) == nil {
			_, _ = txt.Cond.Float32s(96, 256)
		}
		var req protocol.Request
		if env.DecodeBody(&req) == nil {
			_ = req.Validate()
		}
	})
}

// Tensor accessors never panic, whatever the shape claims.
func FuzzTensor(f *testing.F) {
	f.Add("f32", 2, 3, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add("u8", -1, 0, []byte{})
	f.Add("f32", 1<<30, 1<<30, []byte{0})
	f.Fuzz(func(t *testing.T, dtype string, a, b int, data []byte) {
		tt := protocol.Tensor{DType: dtype, Shape: []int{a, b}, Data: data}
		_, _ = tt.Float32s(a, b)
		_, _ = tt.Bytes(a, b)
	})
}
