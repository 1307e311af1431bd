package api

import (
	"context"
	"slices"
	"strings"

	"github.com/reel-video/reel/bus/protocol"
)

// served is what the deployment serves now, the default model first: the
// manifests its live denoise workers advertise, or cfg.Models while none
// advertises one (the API started before its stages, or a worker list that
// cannot be read). The workers' manifests carry their sampler's limits, so
// a deployment whose denoise runs a runner that samples one 48-frame window
// (no guided sampling) refuses a longer video at create, naming the limit,
// instead of failing it at denoise. A model that workers serve with different limits
// (Go and torch workers side by side) keeps the one allowing the longest
// video.
func (s *Server) served(ctx context.Context) []protocol.Manifest {
	ws, err := s.cfg.Backend.Workers(ctx)
	if err != nil {
		s.cfg.Log.Warn().Err(err).Msg("api: list workers (create requests are checked against the configured models)")
		return s.cfg.Models
	}
	var live []protocol.Manifest
	for _, w := range ws {
		m := w.Manifest
		if w.Stage != protocol.StageDenoise || m == nil || m.Validate() != nil {
			continue
		}
		i := slices.IndexFunc(live, func(x protocol.Manifest) bool { return x.Model == m.Model })
		switch {
		case i < 0:
			live = append(live, *m)
		case m.MaxFrames > live[i].MaxFrames:
			live[i] = *m
		}
	}
	if len(live) == 0 {
		return s.cfg.Models
	}
	def := ""
	if len(s.cfg.Models) > 0 {
		def = s.cfg.Models[0].Model
	}
	slices.SortFunc(live, func(a, b protocol.Manifest) int {
		switch {
		case a.Model == def:
			return -1
		case b.Model == def:
			return 1
		}
		return strings.Compare(a.Model, b.Model)
	})
	return live
}
