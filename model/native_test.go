package model

// reel-tiny's native geometry (its checkpoints' config), which the tests
// of the default 64×64 engine spell out; the engine itself takes geometry
// from Config.
const (
	latentSide  = 8 // latent height and width
	latentPlane = latentSide * latentSide
	pixelSide   = 64
)
