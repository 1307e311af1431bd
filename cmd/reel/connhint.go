package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
)

// connectHint adds what to do to a failed first connection: start a
// server, or point --nats / $REEL_NATS at one.
func connectHint(err error, url string) error {
	if err == nil {
		return nil
	}
	s := err.Error()
	if errors.Is(err, nats.ErrNoServers) || strings.Contains(s, "connection refused") || strings.Contains(s, "no servers") {
		return fmt.Errorf("%w\n  no NATS server at %s: start one with 'reel server' (it runs every stage too), or point --nats or $REEL_NATS at yours", err, url)
	}
	return err
}
