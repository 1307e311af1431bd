package main

import (
	"slices"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/reel-video/reel/bus/protocol"
)

// The shipped deploy/nats/auth.conf parses and names every role, each
// stage allowed its own outputs only.
func TestShippedAuthConf(t *testing.T) {
	o, err := server.ProcessConfigFile("../../deploy/nats/auth.conf")
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]*server.User{}
	for _, u := range o.Users {
		users[u.Username] = u
	}
	for _, name := range append([]string{"admin", "example-client"}, protocol.Stages()...) {
		if users[name] == nil || users[name].Permissions == nil {
			t.Fatalf("auth.conf: no user %s with permissions", name)
		}
	}
	if allow := users[protocol.StageVAEDecode].Permissions.Publish.Allow; !slices.Contains(allow, "reel.frames.>") || slices.Contains(allow, "reel.video.>") {
		t.Errorf("vaedecode may publish %v", allow)
	}
	if deny := users[protocol.StageVAEDecode].Permissions.Publish.Deny; !slices.Contains(deny, "reel.latent.>") {
		t.Errorf("vaedecode denies %v", deny)
	}
	if allow := users["example-client"].Permissions.Publish.Allow; !slices.Equal(allow, []string{"reel.api.example-client.*"}) {
		t.Errorf("client may publish %v", allow)
	}
}
