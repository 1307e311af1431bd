package protocol_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// Messages whose headers declare more than they hold, or nest without
// end, are refused before the decoder allocates for them. Each of these
// made msgpack/v5 alone ask for gigabytes (the first one is what the
// fuzzer found: eight bytes, a map of 2.3 billion entries).
func TestUnmarshalRefusesLengthsTheBytesCannotHold(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"map32 of 2.3e9 entries", "\xdf\x89\x66\x8b\xb7\x5d\x32\x83", "declares 4610398062 elements"},
		{"array32 of 4e9 elements", "\xdd\xff\xff\xff\xff\x01", "declares 4294967295 elements"},
		{"map16 larger than the message", "\xde\xff\xff\xa1v\x01", "declares 131070 elements"},
		{"fixmap larger than the message", "\x8f\xa1v\x01", "declares 30 elements"},
		{"str32 of 4 GB", "\xdb\xff\xff\xff\xffabc", "declares 4294967295 bytes"},
		{"bin32 of 4 GB", "\xc6\xff\xff\xff\xff", "declares 4294967295 bytes"},
		{"ext32 of 4 GB", "\xc9\xff\xff\xff\xff\x01", "extension type 0xc9"},
		// msgpack/v5 reads a map header out of an extension's payload and
		// its entries from past it (the fuzzer's second find).
		{"a map inside a fixext4", "\xd60\xdf00000", "extension type 0xd6"},
		{"a map inside a time extension", "\xd6\xff\xdf\xff\xff\xff\xff", "extension type 0xd6"},
		{"a nested map's length", "\x81\xa1m\xdf\x7f\xff\xff\xff", "declares 4294967294 elements"},
		{"nesting deeper than MaxDepth", strings.Repeat("\x91", protocol.MaxDepth+1) + "\x01", "nested deeper"},
		{"truncated float64", "\xcb\x00\x00", "declares 8 bytes"},
		{"truncated length", "\xdd\x00", "truncated"},
		{"the unused type byte", "\xc1", "invalid type byte 0xc1"},
		{"empty", "", "truncated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			err := protocol.Unmarshal([]byte(tc.data), &m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Unmarshal = %v, want an error containing %q", err, tc.want)
			}
			// The same bytes as a prompt fail the job as malformed.
			if _, _, err := protocol.DecodePrompt([]byte(tc.data)); !errors.Is(err, protocol.ErrMalformed) {
				t.Fatalf("DecodePrompt = %v, want ErrMalformed", err)
			}
		})
	}
}

// Everything msgpack encodes within MaxDepth passes the check unchanged.
func TestUnmarshalAcceptsWhatMsgpackEncodes(t *testing.T) {
	nested := any(int64(1))
	for range protocol.MaxDepth {
		nested = []any{nested}
	}
	values := []any{
		nil, true, false, int64(0), int64(127), int64(-32), int64(-33), int64(200), int64(-200),
		int64(70000), int64(-70000), int64(1) << 40, -(int64(1) << 40), uint64(1) << 63,
		float32(1.5), 2.25, "", "short", strings.Repeat("s", 40), strings.Repeat("m", 300), strings.Repeat("l", 70000),
		[]byte{}, []byte("bin"), bytes.Repeat([]byte{7}, 300), bytes.Repeat([]byte{8}, 70000),
		[]any{}, []any{int64(1), "two", []any{3.0}}, make([]any, 20), make([]any, 70000),
		map[string]any{}, map[string]any{"a": map[string]any{"b": []any{int64(1)}}},
		nested,
	}
	big := map[string]any{}
	for i := range 70000 {
		big[string(rune('a'+i%26))+strings.Repeat("k", i%5)+string(rune(i))] = i
	}
	values = append(values, big)
	ext := &protocol.Envelope{Job: "j1", Stage: "denoise", Settings: protocol.DefaultSettings(), Chunk: 2, Count: 3}
	_ = ext.SetBody(protocol.LatentBody{Latent: protocol.F32Tensor(make([]float32, 16), 1, 4, 2, 2)})
	values = append(values, ext)
	for i, v := range values {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		if err := protocol.Unmarshal(b, &got); err != nil {
			t.Fatalf("value %d (%T): %v", i, v, err)
		}
		var want any
		_ = msgpack.Unmarshal(b, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("value %d (%T) decoded differently through Unmarshal", i, v)
		}
	}
}

// Unmarshal never panics, and never lets through a value msgpack then
// fails to bound: whatever it accepts decodes within the message's size.
func FuzzUnmarshal(f *testing.F) {
	seedEnvelopes(f)
	f.Add([]byte("\xdf\x89\x66\x8b\xb7\x5d\x32\x83"))
	f.Add([]byte("\x82\xa1a\x92\x01\xc4\x01x\xa1b\xcb\x01\x02\x03\x04\x05\x06\x07\x08"))
	f.Add([]byte("\xd60\xdf00000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if err := protocol.Unmarshal(data, &v); err != nil {
			return
		}
		if b, err := msgpack.Marshal(v); err == nil && len(b) > 2*len(data)+16 {
			// Re-encoding may widen floats and small ints, never more.
			t.Fatalf("%d bytes decoded into a value of %d bytes", len(data), len(b))
		}
	})
}
