package api

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reel-video/reel/internal/envconfig"
	"golang.org/x/time/rate"
)

// KeysEnv is the environment variable with API keys (comma-separated), so
// that keys need not appear on a command line (Kubernetes: a Secret as env).
const KeysEnv = envconfig.APIKeys

// KeyCookie is the cookie the web UI keeps the key in: <video src> and
// download links cannot send an Authorization header.
const KeyCookie = "reel_api_key"

// Keys are the accepted API keys. Each key's owner id is derived from the
// key's hash, so neither the key nor anything that reveals it is stored
// with the videos.
type Keys struct {
	owners map[[sha256.Size]byte]string
}

// ErrNoKey marks a key source that holds no key.
var ErrNoKey = errors.New("no API key")

// NewKeys builds the key set; empty keys are refused.
func NewKeys(keys ...string) (*Keys, error) {
	k := &Keys{owners: map[[sha256.Size]byte]string{}}
	for _, key := range keys {
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, fmt.Errorf("%w: empty key", ErrNoKey)
		}
		sum := sha256.Sum256([]byte(key))
		k.owners[sum] = "key_" + hex.EncodeToString(sum[:8])
	}
	return k, nil
}

// LoadKeys gathers keys from flags, a file (one key a line, # comments) and
// the value of KeysEnv.
func LoadKeys(flagKeys []string, file, env string) (*Keys, error) {
	all := append([]string(nil), flagKeys...)
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("api key file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
				all = append(all, line)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("api key file %s: %w", file, err)
		}
	}
	for _, k := range strings.Split(env, ",") {
		if k = strings.TrimSpace(k); k != "" {
			all = append(all, k)
		}
	}
	return NewKeys(all...)
}

// Len is the number of keys.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.owners)
}

// owner returns the owner id of a presented key.
func (k *Keys) owner(key string) (string, bool) {
	sum := sha256.Sum256([]byte(key))
	o, ok := k.owners[sum]
	return o, ok
}

// presentedKey is the request's key: a Bearer token, else the UI's cookie.
func presentedKey(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	if c, err := r.Cookie(KeyCookie); err == nil {
		if v, err := url.QueryUnescape(c.Value); err == nil {
			return v // the UI writes it with encodeURIComponent
		}
	}
	return ""
}

type ownerKey struct{}

// ownerOf is the authenticated owner of the request ("" without keys).
func ownerOf(ctx context.Context) string {
	o, _ := ctx.Value(ownerKey{}).(string)
	return o
}

// limiters hands out one token bucket per owner.
type limiters struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

func (l *limiters) get(owner string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	lim := l.m[owner]
	if lim == nil {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[owner] = lim
	}
	return lim
}

// authenticate checks the key (when keys are configured) and the owner's
// rate limit, then puts the owner in the request context.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		owner := ""
		if s.cfg.Keys.Len() > 0 {
			key := presentedKey(r)
			if key == "" {
				writeError(w, newError(http.StatusUnauthorized, typeInvalidRequest, "missing_api_key",
					"no API key: send Authorization: Bearer <key>"))
				return
			}
			o, ok := s.cfg.Keys.owner(key)
			if !ok {
				writeError(w, newError(http.StatusUnauthorized, typeInvalidRequest, "invalid_api_key", "incorrect API key"))
				return
			}
			owner = o
		}
		if s.cfg.RateLimit > 0 {
			res := s.limits.get(owner).Reserve()
			if d := res.Delay(); d > 0 {
				res.Cancel()
				w.Header().Set("Retry-After", strconv.Itoa(int(d/time.Second)+1))
				writeError(w, newError(http.StatusTooManyRequests, "requests", "rate_limit_exceeded",
					fmt.Sprintf("rate limit of %v requests/s (burst %d) reached; retry in %s", float64(s.cfg.RateLimit), s.cfg.Burst, d.Round(time.Millisecond))))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ownerKey{}, owner)))
	})
}
