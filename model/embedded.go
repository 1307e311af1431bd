package model

import "github.com/reel-video/reel/model/weights"

// embedded names the checkpoints built into the binary (package weights).
type embedded struct{ text, dit, vae source }

func embeddedSources() embedded {
	src := func(name string, b func() []byte) source {
		return source{name: "embedded " + name, read: func() ([]byte, error) { return b(), nil }, builtIn: true}
	}
	return embedded{
		text: src("text encoder", weights.Text),
		dit:  src("FP8 DiT", weights.DiT),
		vae:  src("VAE decoder", weights.VAE),
	}
}
