// Package registry lists every stage's descriptor, in pipeline order: the
// one place that knows which stage packages exist. Each stage declares
// itself in its own package (textenc.Descriptor, ...).
package registry

import (
	"fmt"
	"strings"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages"
	"github.com/reel-video/reel/stages/denoise"
	"github.com/reel-video/reel/stages/encode"
	"github.com/reel-video/reel/stages/textenc"
	"github.com/reel-video/reel/stages/vaedecode"
)

// All returns the stages' descriptors in pipeline order.
func All() []stages.Descriptor {
	return []stages.Descriptor{textenc.Descriptor(), denoise.Descriptor(), vaedecode.Descriptor(), encode.Descriptor()}
}

// Lookup returns the named stage's descriptor, or an error listing the
// stages.
func Lookup(name string) (stages.Descriptor, error) {
	for _, d := range All() {
		if d.Name == name {
			return d, nil
		}
	}
	return stages.Descriptor{}, fmt.Errorf("unknown stage %q (want one of %s)", name, strings.Join(protocol.Stages(), ", "))
}
