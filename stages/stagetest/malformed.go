package stagetest

import (
	"strings"
	"testing"

	"github.com/reel-video/reel/bus"
)

// genericMalformed are the poison inputs every stage must refuse; each
// corrupts the first input the stage's consumer takes.
func genericMalformed() []Malformed {
	return []Malformed{
		{Name: "BadMsgpack", Reason: "malformed message: envelope", Corrupt: corruptFirst(func(t testing.TB, x *Input) {
			x.Data = []byte("\xc1 is never valid msgpack") // headers still name the job
		})},
		{Name: "UnknownSchemaVersion", Reason: "unknown schema version 99", Corrupt: corruptFirst(func(t testing.TB, x *Input) {
			x.Env.V = 99
		})},
		{Name: "MissingClaimBlob", Reason: "is not in bucket " + bus.BlobsBucket, Corrupt: corruptFirst(func(t testing.TB, x *Input) {
			x.Env.Claim = &bus.Claim{Bucket: bus.BlobsBucket, Name: "claim/" + x.Subject,
				Size: len(x.Env.Body), SHA256: strings.Repeat("0", 64)}
			x.Env.Body = nil
		})},
	}
}

// corruptFirst applies fn to a copy of the first input whose subject is a
// stage's input kind (inputs are listed trigger first).
func corruptFirst(fn func(t testing.TB, x *Input)) func(testing.TB, []Input) []Input {
	return func(t testing.TB, in []Input) []Input {
		out := CloneInputs(in)
		fn(t, &out[0])
		return out
	}
}

// CloneInputs copies the inputs and their envelopes, so that a corruption
// does not leak into other messages.
func CloneInputs(in []Input) []Input {
	out := make([]Input, len(in))
	for i, x := range in {
		out[i] = x
		if x.Env != nil {
			env := *x.Env
			out[i].Env = &env
		}
	}
	return out
}

// SetBody replaces an input's body (stage-specific corruptions).
func SetBody(t testing.TB, x *Input, body any) {
	t.Helper()
	if err := x.Env.SetBody(body); err != nil {
		t.Fatal(err)
	}
}
