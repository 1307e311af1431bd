package bus

import (
	"fmt"
	"testing"

	"github.com/reel-video/reel/internal/envconfig"
)

// A client's default URL reaches a server started with the defaults.
func TestDefaultURLIsTheDefaultServer(t *testing.T) {
	if want := fmt.Sprintf("nats://%s:%d", DefaultHost, DefaultPort); envconfig.DefaultNATSURL != want {
		t.Errorf("default URL %s, the default server listens on %s", envconfig.DefaultNATSURL, want)
	}
}

// Zero fields take the declared defaults.
func TestConfigDefaults(t *testing.T) {
	var l LayoutConfig
	l.setDefaults()
	want := LayoutConfig{MaxAge: DefaultMaxAge, MaxBytes: DefaultMaxBytes, Replicas: DefaultReplicas, AckWait: DefaultAckWait,
		MaxDeliver: DefaultMaxDeliver, MaxAckPending: DefaultMaxAckPending, WorkerTTL: DefaultWorkerTTL, MaxQueue: DefaultMaxQueue}
	if l != want {
		t.Errorf("layout defaults %+v, want %+v", l, want)
	}
	var s ServerConfig
	s.setDefaults()
	if s.Host != DefaultHost || s.Port != DefaultPort || s.MaxPayload != DefaultMaxPayload || s.MaxMemory != DefaultMaxMemory || s.MaxStore != DefaultMaxStore {
		t.Errorf("server defaults %+v", s)
	}
	if ClaimThreshold(0) != DefaultMaxPayload*3/4 {
		t.Errorf("claim threshold without a payload limit %d", ClaimThreshold(0))
	}
}
