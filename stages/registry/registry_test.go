package registry_test

import (
	"testing"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/reel-video/reel/stages/registry"
)

// The descriptors follow the wire protocol's pipeline one to one, in order,
// and every one can build a handler.
func TestDescriptorsMatchThePipeline(t *testing.T) {
	specs := protocol.Pipeline()
	all := registry.All()
	if len(all) != len(specs) {
		t.Fatalf("%d descriptors for %d stages", len(all), len(specs))
	}
	for i, d := range all {
		if d.Name != specs[i].Name || d.Filter != specs[i].Filter || d.Input != specs[i].Input {
			t.Errorf("descriptor %d is %+v, the protocol says %+v", i, d.StageSpec, specs[i])
		}
		if d.New == nil {
			t.Errorf("%s: no handler constructor", d.Name)
		}
		if len(d.ReplaySettings) == 0 {
			t.Errorf("%s: no replay settings", d.Name)
		}
	}
	if _, err := registry.Lookup("nope"); err == nil {
		t.Error("Lookup of an unknown stage succeeded")
	}
}
