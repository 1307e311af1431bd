package protocol

import (
	"fmt"
	"slices"
)

// Model is one of the three models of a reel checkpoint set, named as the
// runner protocol's hello names their weights and the manifest its sizes
// (ManifestBytes): the text encoder, the DiT and the VAE decoder.
type Model string

// The models, in the order their checkpoint files are hashed for the
// manifest's digest (WeightsDigest).
const (
	ModelText Model = "text"
	ModelDiT  Model = "dit"
	ModelVAE  Model = "vae"
)

// Models are all three, in digest order.
func Models() []Model { return []Model{ModelText, ModelDiT, ModelVAE} }

// CheckModels reports a list of models that names one that is not a Model
// or names one twice. An empty list means all three.
func CheckModels(ms []Model) error {
	for i, m := range ms {
		if !slices.Contains(Models(), m) {
			return fmt.Errorf("model %q: want one of %v", m, Models())
		}
		if slices.Contains(ms[:i], m) {
			return fmt.Errorf("model %q named twice", m)
		}
	}
	return nil
}
