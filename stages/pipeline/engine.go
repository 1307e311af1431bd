package pipeline

import (
	"github.com/reel-video/reel/model"
	"github.com/reel-video/reel/stages/goengine"
)

// GoEngine serves the model stages with the built-in pure-Go engine.
func GoEngine(e *model.Engine) Engine { return goengine.New(e) }
