package protocol

import (
	"fmt"
	"strings"
)

// Stage names. Each stage has one durable pull consumer, named
// ConsumerName(stage), shared by all of its replicas, in any language.
const (
	StageTextEnc   = "textenc"
	StageDenoise   = "denoise"
	StageVAEDecode = "vaedecode"
	StageEncode    = "encode"
)

// StageSpec is one stage's place on the bus: what it consumes and what it
// publishes. It is the wire-level half of a stage; stages.Descriptor adds the
// handler and resources.
type StageSpec struct {
	Name    string
	Input   string   // the kind of message consumed (KindPrompt, ...)
	Filter  string   // the filter subject of the stage's durable consumer
	Outputs []string // the kinds it publishes
	// Chunked stages take one message per latent or frame chunk.
	Chunked bool
	// Model is the model the stage computes with ("" for none): a process
	// serving only some stages loads only their models.
	Model Model
}

// NeedsEngine reports whether the stage computes with a model engine.
func (s StageSpec) NeedsEngine() bool { return s.Model != "" }

// Pipeline lists the stages in order. The encode stage's consumer is
// triggered by chunk 0 of a job's frames and follows the job's other chunks
// itself, so that one encode worker assembles one whole video.
func Pipeline() []StageSpec {
	return []StageSpec{
		{Name: StageTextEnc, Input: KindPrompt, Filter: "reel.prompt.*", Outputs: []string{KindText}, Model: ModelText},
		{Name: StageDenoise, Input: KindText, Filter: "reel.text.*", Outputs: []string{KindLatent}, Model: ModelDiT},
		{Name: StageVAEDecode, Input: KindLatent, Filter: "reel.latent.*.*", Outputs: []string{KindFrames}, Chunked: true, Model: ModelVAE},
		{Name: StageEncode, Input: KindFrames, Filter: "reel.frames.*.0", Outputs: []string{KindVideo}, Chunked: true},
	}
}

// Stages lists the stage names in pipeline order.
func Stages() []string {
	var out []string
	for _, s := range Pipeline() {
		out = append(out, s.Name)
	}
	return out
}

// Spec returns the named stage's spec, or an error listing the stages.
func Spec(stage string) (StageSpec, error) {
	for _, s := range Pipeline() {
		if s.Name == stage {
			return s, nil
		}
	}
	return StageSpec{}, fmt.Errorf("unknown stage %q (want one of %s)", stage, strings.Join(Stages(), ", "))
}

// InputKind is the kind of message a stage consumes.
func InputKind(stage string) (string, error) {
	s, err := Spec(stage)
	return s.Input, err
}

// ConsumerName is the durable consumer of a stage.
func ConsumerName(stage string) string { return "reel-" + stage }

// ConsumerFilter is the filter subject of a stage's consumer.
func ConsumerFilter(stage string) (string, error) {
	s, err := Spec(stage)
	return s.Filter, err
}
