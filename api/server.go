package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/reel-video/reel/bus/protocol"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 64 << 10 // a prompt is 2 KiB at most; forms need a little more
	DefaultRateLimit    = 20       // requests per second per key
	DefaultBurst        = 40
)

// Config configures a Server.
type Config struct {
	Backend Backend // required
	// Models are the models served (the first is the default) while no
	// live denoise worker advertises one; once they do, create requests
	// and /v1/models follow the workers' manifests (Server.served).
	Models []protocol.Manifest
	// Keys, when non-empty, are required on every /v1 call.
	Keys *Keys
	// RateLimit per key (requests per second, Burst at once); 0 uses the
	// defaults, negative turns it off.
	RateLimit rate.Limit
	Burst     int
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Retention is how long videos are kept (expires_at); 0 leaves it null.
	Retention time.Duration
	// Metrics, when set, is served at /metrics; Ready checks at /readyz
	// beyond the bus connection.
	Metrics http.Handler
	Log     zerolog.Logger
}

// Server is the HTTP API and web UI.
type Server struct {
	cfg    Config
	limits *limiters
	mux    *http.ServeMux
}

// New checks the config and builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("api: backend is required")
	}
	for _, m := range cfg.Models {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("api: model %s: %w", m.Model, err)
		}
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit, cfg.Burst = DefaultRateLimit, DefaultBurst
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(cfg.RateLimit))
	}
	s := &Server{cfg: cfg, limits: &limiters{limit: cfg.RateLimit, burst: cfg.Burst}, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	v1 := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		s.mux.Handle(pattern, s.authenticate(s.handle(h)))
	}
	v1("POST /v1/videos", s.create)
	v1("GET /v1/videos", s.list)
	v1("GET /v1/videos/{id}", s.retrieve)
	v1("DELETE /v1/videos/{id}", s.delete)
	v1("GET /v1/videos/{id}/content", s.content)
	v1("GET /v1/videos/{id}/events", s.events)
	v1("POST /v1/videos/{id}/cancel", s.cancel)
	v1("POST /v1/videos/{id}/remix", s.remix)
	v1("POST /v1/videos/extensions", s.extend)
	v1("POST /v1/videos/{id}/replay", s.replay)
	v1("POST /v1/videos/edits", notYet("edits", "upload-based edits are not supported; POST /v1/videos/{id}/remix redoes a video under a new prompt"))
	v1("GET /v1/models", s.models)
	v1("GET /v1/workers", s.workers)
	v1("/v1/", func(http.ResponseWriter, *http.Request) error {
		return newError(http.StatusNotFound, typeInvalidRequest, "unknown_url", "no such endpoint")
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	s.mux.Handle("/", uiHandler())
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// handle adapts a handler that returns an error: an error becomes an
// OpenAI-shaped error response (and a log line when it is the server's).
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		if err := h(w, r); err != nil {
			e := asAPIError(err)
			if e.Status >= 500 {
				s.cfg.Log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("api error")
			}
			writeError(w, e)
		}
	})
}

// notYet answers a call of OpenAI's API that reel does not implement.
func notYet(what, why string) func(http.ResponseWriter, *http.Request) error {
	return func(http.ResponseWriter, *http.Request) error {
		return newError(http.StatusNotImplemented, typeInvalidRequest, "not_implemented",
			fmt.Sprintf("video %s: %s", what, why))
	}
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Backend.Ready(ctx); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// ErrOpenBind is returned by CheckBind for an address beyond loopback
// without API keys.
var ErrOpenBind = errors.New("refusing to serve the API beyond loopback without an API key")

// CheckBind refuses to listen beyond loopback without keys: anyone who can
// reach the port could otherwise generate and delete videos.
func CheckBind(addr string, keys *Keys) error {
	if keys.Len() > 0 {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("api address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: %s (set --api-key, --api-key-file or $%s, or bind 127.0.0.1)", ErrOpenBind, addr, KeysEnv)
}

// Serve listens on addr (after CheckBind) and serves until ctx ends; ready,
// if set, gets the bound address (useful with port 0).
func (s *Server) Serve(ctx context.Context, addr string, ready func(net.Addr)) error {
	if err := CheckBind(addr, s.cfg.Keys); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	if ready != nil {
		ready(ln.Addr())
	}
	s.cfg.Log.Info().Str("addr", ln.Addr().String()).Int("keys", s.cfg.Keys.Len()).Msg("api serving")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}
