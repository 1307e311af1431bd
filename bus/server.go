package bus

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// ErrStoreLocked is returned when another server holds the store directory.
var ErrStoreLocked = errors.New("store directory is in use by another reel server")

// Server defaults: what a zero ServerConfig field means (and the CLI flags'
// defaults). DefaultHost and DefaultPort are where envconfig.DefaultNATSURL
// points (tested).
const (
	DefaultHost       = "127.0.0.1"
	DefaultPort       = 4222
	DefaultMaxPayload = 1 << 20
	DefaultMaxMemory  = 256 << 20
	DefaultMaxStore   = 16 << 30
)

// ServerConfig configures the embedded nats-server.
type ServerConfig struct {
	DataDir    string        // required; JetStream stores under DataDir/jetstream
	Host       string        // default 127.0.0.1
	Port       int           // default 4222; -1 picks a free port
	DontListen bool          // in-process connections only (reel generate)
	MaxPayload int32         // default 1 MiB (server default)
	MaxMemory  int64         // JetStream memory limit, default 256 MiB
	MaxStore   int64         // JetStream disk limit, default 16 GiB
	Sync       time.Duration // fsync interval, default 5s (server default 2m)
	HTTPPort   int           // monitoring port (/jsz for KEDA); 0 = off
	// HTTPHost is the monitoring address, default 127.0.0.1. The
	// monitoring port has no auth (/connz?auth=1 lists users, /jsz the
	// config), so it must stay on loopback; Validate refuses anything else.
	HTTPHost string
	Name     string // server name, default "reel"
	// Optional client auth for the listener.
	User, Password, Token string
	// TLS for the client listener: certificate and key (PEM); with TLSCA,
	// clients must present a certificate signed by it (mutual TLS).
	TLSCert, TLSKey, TLSCA string
	ReadyTimeout           time.Duration // default 10s
}

func (c *ServerConfig) setDefaults() {
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	if c.MaxStore == 0 {
		c.MaxStore = DefaultMaxStore
	}
	if c.Sync == 0 {
		c.Sync = 5 * time.Second
	}
	if c.Name == "" {
		c.Name = "reel"
	}
	if c.HTTPHost == "" {
		c.HTTPHost = "127.0.0.1"
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 10 * time.Second
	}
}

// Validate checks the configuration (after defaults).
func (c *ServerConfig) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("server: data directory is required")
	case c.MaxPayload < 1024 || c.MaxPayload > 64<<20:
		return fmt.Errorf("server: max payload %d outside 1 KiB..64 MiB", c.MaxPayload)
	case c.MaxMemory < 0 || c.MaxStore <= 0:
		return errors.New("server: JetStream limits must be positive")
	case c.Token != "" && c.User != "":
		return errors.New("server: use either a token or user/password")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("server: --tls-cert and --tls-key go together")
	case c.TLSCA != "" && c.TLSCert == "":
		return errors.New("server: --tls-ca needs --tls-cert and --tls-key")
	case c.HTTPPort != 0 && !loopback(c.HTTPHost):
		return fmt.Errorf("server: monitoring on %s: the monitoring port has no auth (it lists connections and users); bind it to loopback and put an authenticating proxy in front", c.HTTPHost)
	}
	return nil
}

// Server is a running embedded nats-server with JetStream.
type Server struct {
	ns       *server.Server
	lock     *flock.Flock
	log      zerolog.Logger
	maxStore int64 // the JetStream disk limit, fitted to the store's filesystem
}

// StartServer locks the data directory, starts the server and waits until it
// accepts connections with JetStream enabled.
func StartServer(cfg ServerConfig, log zerolog.Logger) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if fitted, ok := fitDisk(cfg.DataDir, cfg.MaxStore); ok && fitted < cfg.MaxStore {
		log.Info().Int64("configured", cfg.MaxStore).Int64("fitted", fitted).Str("dir", cfg.DataDir).
			Msg("JetStream disk limit lowered to fit the store's filesystem")
		cfg.MaxStore = fitted
	}
	lk := flock.New(filepath.Join(cfg.DataDir, "reel.lock"))
	ok, err := lk.TryLock()
	if err != nil {
		return nil, fmt.Errorf("server: lock %s: %w", cfg.DataDir, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrStoreLocked, cfg.DataDir)
	}
	opts := &server.Options{
		ServerName:         cfg.Name,
		Host:               cfg.Host,
		Port:               cfg.Port,
		DontListen:         cfg.DontListen,
		JetStream:          true,
		StoreDir:           cfg.DataDir,
		JetStreamMaxMemory: cfg.MaxMemory,
		JetStreamMaxStore:  cfg.MaxStore,
		SyncInterval:       cfg.Sync,
		MaxPayload:         cfg.MaxPayload,
		NoSigs:             true,
		HTTPHost:           cfg.HTTPHost,
		HTTPPort:           cfg.HTTPPort,
		Username:           cfg.User,
		Password:           cfg.Password,
		Authorization:      cfg.Token,
	}
	if cfg.TLSCert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CaFile: cfg.TLSCA, Verify: cfg.TLSCA != ""})
		if err != nil {
			_ = lk.Unlock()
			return nil, fmt.Errorf("server: tls: %w", err)
		}
		opts.TLSConfig, opts.TLS, opts.TLSVerify = tc, true, cfg.TLSCA != ""
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		_ = lk.Unlock()
		return nil, fmt.Errorf("server: %w", err)
	}
	slog := log.With().Str("component", "nats-server").Logger()
	ns.SetLoggerV2(serverLogger{slog}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(cfg.ReadyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		_ = lk.Unlock()
		return nil, fmt.Errorf("server: not ready for connections after %s", cfg.ReadyTimeout)
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		_ = lk.Unlock()
		return nil, errors.New("server: JetStream did not start (see the server log above)")
	}
	return &Server{ns: ns, lock: lk, log: slog, maxStore: cfg.MaxStore}, nil
}

// Fit lowers lc's stream and bucket limits so that everything the layout
// reserves fits the server's disk limit: otherwise setting it up fails
// ("insufficient storage resources"), or, above the disk, the disk fills
// before any limit refuses a job.
func (s *Server) Fit(lc LayoutConfig) LayoutConfig {
	fitted, lowered := lc.fitStore(s.maxStore)
	if lowered {
		s.log.Info().Int64("max_bytes", fitted.MaxBytes).Int64("max_store", s.maxStore).
			Msg("stream and bucket limits lowered to fit the server's disk limit")
	}
	return fitted
}

// ClientURL is the nats:// URL clients use (empty with DontListen).
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// InProcessConn lets nats.InProcessServer connect without a socket.
func (s *Server) InProcessConn() (net.Conn, error) { return s.ns.InProcessConn() }

// Shutdown stops the server (after clients drained) and releases the lock.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	_ = s.lock.Unlock()
}

// serverLogger adapts zerolog to server.Logger; Fatalf logs and never exits.
type serverLogger struct{ l zerolog.Logger }

func (a serverLogger) Noticef(f string, v ...any) { a.l.Debug().Msgf(f, v...) }
func (a serverLogger) Warnf(f string, v ...any)   { a.l.Warn().Msgf(f, v...) }
func (a serverLogger) Fatalf(f string, v ...any)  { a.l.Error().Str("severity", "fatal").Msgf(f, v...) }
func (a serverLogger) Errorf(f string, v ...any)  { a.l.Error().Msgf(f, v...) }
func (a serverLogger) Debugf(f string, v ...any)  { a.l.Trace().Msgf(f, v...) }
func (a serverLogger) Tracef(f string, v ...any)  { a.l.Trace().Msgf(f, v...) }

// loopback reports whether host is a loopback address or localhost.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
