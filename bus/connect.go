package bus

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/reel-video/reel/internal/envconfig"
	"github.com/rs/zerolog"
)

// DefaultURL is used when neither --nats nor REEL_NATS is set.
const DefaultURL = envconfig.DefaultNATSURL

// ConnectConfig says how to reach a NATS server.
type ConnectConfig struct {
	URL       string // comma-separated server URLs; ignored with InProcess
	Name      string // client name shown by the server
	User      string
	Password  string
	Token     string
	CredsFile string // NATS .creds (JWT + NKey)
	NKeyFile  string // NKey seed file
	TLSCA     string // root CA PEM to verify the server
	TLSCert   string // client certificate (mutual TLS)
	TLSKey    string
	TLSFirst  bool // TLS handshake before the INFO line
	// InboxPrefix replaces _INBOX for replies (a client role may subscribe
	// to its own inbox only: bus.ClientInbox).
	InboxPrefix string
	// NoJetStream skips the check that JetStream answers: a client-role
	// user may not use it (it speaks the client API only).
	NoJetStream bool

	InProcess     nats.InProcessConnProvider // connect without a socket (embedded)
	APITimeout    time.Duration              // JetStream API timeout, default 10s
	ReconnectWait time.Duration              // default 1s
}

// Validate checks the configuration.
func (c ConnectConfig) Validate() error {
	switch {
	case c.InProcess == nil && c.URL == "":
		return errors.New("nats: a server URL is required")
	case c.Token != "" && c.User != "":
		return errors.New("nats: use either a token or user/password")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("nats: --tls-cert and --tls-key go together")
	}
	return nil
}

// Conn is a client connection with its JetStream context.
type Conn struct {
	NC     *nats.Conn
	JS     jetstream.JetStream
	log    zerolog.Logger
	closed chan struct{}
}

// Connect dials the server. The connection reconnects forever, so a stage
// outlives a NATS restart.
func Connect(ctx context.Context, cfg ConnectConfig, log zerolog.Logger) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.APITimeout == 0 {
		cfg.APITimeout = 10 * time.Second
	}
	if cfg.ReconnectWait == 0 {
		cfg.ReconnectWait = time.Second
	}
	closed := make(chan struct{})
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.ReconnectWait),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("nats reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn().Err(err).Msg("nats async error")
		}),
	}
	if cfg.InProcess != nil {
		opts = append(opts, nats.InProcessServer(cfg.InProcess))
	}
	if cfg.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(cfg.InboxPrefix))
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats: nkey: %w", err)
		}
		opts = append(opts, o)
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	if cfg.TLSFirst {
		opts = append(opts, nats.TLSHandshakeFirst())
	}
	servers := cfg.URL
	if cfg.InProcess != nil {
		servers = ""
	}
	nc, err := nats.Connect(servers, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect %s: %w", redact(servers), err)
	}
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(cfg.APITimeout))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	if cfg.NoJetStream {
		return &Conn{NC: nc, JS: js, log: log, closed: closed}, nil
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: JetStream is not available on %s: %w", redact(servers), err)
	}
	return &Conn{NC: nc, JS: js, log: log, closed: closed}, nil
}

// MaxPayload is the server's max_payload.
func (c *Conn) MaxPayload() int64 { return c.NC.MaxPayload() }

// Close drains the connection (pending publishes are flushed). A
// connection with no subscription left but the request/reply one (every
// consumer stopped, as at the end of reel generate) is flushed and closed
// instead: nats.go's Drain polls every 10 ms for each of its two phases,
// and there is nothing left for it to wait for.
func (c *Conn) Close() {
	if c.NC.NumSubscriptions() <= 1 {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.NC.FlushWithContext(fctx)
		cancel()
		if err == nil {
			c.NC.Close()
			select {
			case <-c.closed:
			case <-time.After(5 * time.Second):
			}
			return
		}
	}
	if err := c.NC.Drain(); err != nil {
		c.NC.Close()
	}
	select {
	case <-c.closed:
	case <-time.After(35 * time.Second): // beyond nats' 30s drain timeout
		c.NC.Close()
	}
}

// redact names the servers for an error message without the passwords or
// tokens a URL may carry (nats://user:secret@host).
func redact(urls string) string {
	if urls == "" {
		return "in-process server"
	}
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if !strings.Contains(p, "://") {
			p = "nats://" + p // as nats.go reads it
		}
		u, err := url.Parse(p)
		switch {
		case err != nil:
			parts[i] = "(unparsable URL)"
		case u.User != nil:
			u.User = url.User("redacted")
			parts[i] = u.String()
		default:
			parts[i] = p
		}
	}
	return strings.Join(parts, ",")
}
