package runner

import "github.com/reel-video/reel/bus/protocol"

// ProtocolVersion is the protocol version this package speaks.
const ProtocolVersion = 1

// Ops on the wire.
const (
	opHello       = "hello"
	opEncodeText  = "encode_text"
	opSample      = "sample"
	opDecodeChunk = "decode_chunk"
	opHealth      = "health"
	opCancel      = "cancel"
)

// request is the common head of every request; the op-specific structs
// embed it (msgpack inlines embedded structs).
type request struct {
	ID  uint64 `msgpack:"id"`
	Op  string `msgpack:"op"`
	Job string `msgpack:"job,omitempty"`
}

func (r *request) head() *request { return r }

// message is any request.
type message interface{ head() *request }

type helloRequest struct {
	request
	Protocol int               `msgpack:"protocol"`
	Weights  map[string]string `msgpack:"weights"`
	Models   []protocol.Model  `msgpack:"models,omitempty"`
}

type encodeTextRequest struct {
	request
	Prompt string `msgpack:"prompt"`
}

type textTensors struct {
	Hidden protocol.Tensor `msgpack:"hidden"`
	Mask   protocol.Tensor `msgpack:"mask"`
}

type sampleRequest struct {
	request
	Cond     textTensors     `msgpack:"cond"`
	Uncond   *textTensors    `msgpack:"uncond,omitempty"`
	Noise    protocol.Tensor `msgpack:"noise"`
	Frames   int             `msgpack:"frames"`
	Steps    int             `msgpack:"steps"`
	Guidance float64         `msgpack:"guidance"`
	Shift    float64         `msgpack:"shift"`
	Seed     int64           `msgpack:"seed"`
	Guide    *guideTensors   `msgpack:"guide,omitempty"`
}

// guideTensors is a sample's guide (model.Guide): the known latent frames
// and which frames they are, and an init to start from at sigma strength.
type guideTensors struct {
	Known    *protocol.Tensor `msgpack:"known,omitempty"` // f32 [C, T, h, w], with fixed
	Fixed    *protocol.Tensor `msgpack:"fixed,omitempty"` // u8 [T]: 1 = frame known
	Init     *protocol.Tensor `msgpack:"init,omitempty"`  // f32 [C, T, h, w], with strength
	Strength float64          `msgpack:"strength,omitempty"`
}

type decodeChunkRequest struct {
	request
	Latent protocol.Tensor `msgpack:"latent"`
}

type cancelRequest struct {
	request
	Target uint64 `msgpack:"target"`
}

type healthRequest struct{ request }

// reply is the common head of every runner frame: a final answer (ok or
// error) or, without either, a progress event.
type reply struct {
	ID       uint64     `msgpack:"id"`
	OK       bool       `msgpack:"ok"`
	Error    *wireError `msgpack:"error"`
	Progress *progress  `msgpack:"progress"`
}

type wireError struct {
	Kind    string `msgpack:"kind"`
	Message string `msgpack:"message"`
}

type progress struct {
	Step  int `msgpack:"step"`
	Total int `msgpack:"total"`
}

type encodeTextResult struct {
	Hidden protocol.Tensor `msgpack:"hidden"`
	Mask   protocol.Tensor `msgpack:"mask"`
}

type sampleResult struct {
	Latent protocol.Tensor `msgpack:"latent"`
}

type decodeChunkResult struct {
	Frames protocol.Tensor `msgpack:"frames"`
}

type healthResult struct {
	Memory Memory `msgpack:"memory"`
}
