package model

import (
	"fmt"

	"github.com/reel-video/reel/bus/protocol"
)

// JobGuide is the Guide of a job that continues a video or remixes one,
// for a video of frames frames of the model m describes: prefix, when set,
// is the video's first K latent frames [C, K, h, w], kept exactly while
// the rest continues from them;
// init, when set, is a latent [C, T, h, w] that sampling starts from at
// sigma strength in (0, 1] instead of from noise. Nil when neither is set.
// Every engine builds its guide here, so an extension or a remix means the
// same on each.
func JobGuide(m protocol.Manifest, frames int, prefix, init []float32, strength float64) (*Guide, error) {
	if prefix == nil && init == nil {
		return nil, nil
	}
	g := &Guide{}
	if init != nil {
		g.Init, g.Strength = init, strength
	}
	if prefix == nil {
		return g, nil
	}
	t, size := m.LatentFrames(frames), m.LatentSize(frames)
	k := len(prefix) * t / max(size, 1)
	if k*size != len(prefix)*t || k > t {
		return nil, fmt.Errorf("%w: prefix of %d values is not whole latent frames of a %d-frame video", ErrInput, len(prefix), frames)
	}
	g.Known, g.Fixed = make([]float32, size), make([]bool, t)
	plane := size / (m.LatentChannels * t)
	for ch := range m.LatentChannels {
		copy(g.Known[ch*t*plane:], prefix[ch*k*plane:(ch+1)*k*plane])
	}
	for f := range k {
		g.Fixed[f] = true
	}
	return g, nil
}
