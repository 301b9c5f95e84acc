// Package relay is an Oblivious HTTP relay resource (RFC 9458 §4, §5):
// `blindpassd relay`. It forwards encapsulated requests from clients to a
// fixed list of gateways and their encapsulated answers back, and nothing
// else. The gateway learns no client address or header: the relay sends
// only the content type (and Incremental: ?1 for chunked messages), adds
// no Forwarded or Via field and no User-Agent. The relay learns no request
// content: it is encrypted for the gateway. Bodies are bounded and
// streamed, never buffered whole, so a chunked answer passes chunk by
// chunk. It logs no address.
//
// Layout: the gateway whose URL has host H is reached at /H: POST an
// encapsulated request there, or GET its key configuration, which the
// relay fetches itself and serves identically to every client for
// Config.KeyCache (key consistency).
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blindpass/blindpass/ohttp"
)

// Config is the relay's configuration (internal/config.Relay, defaults
// filled).
type Config struct {
	Gateways         []string
	MaxRequestBytes  int64
	MaxResponseBytes int64
	MaxConcurrent    int
	RequestTimeout   time.Duration
	KeyCache         time.Duration
}

// ProblemBase prefixes the relay's problem types.
const ProblemBase = "https://blindpass.dev/problems/relay-"

const maxKeysBody = 16 << 10

// Relay forwards to its gateways.
type Relay struct {
	cfg      Config
	gateways map[string]*gatewayEntry // by host
	client   *http.Client
	sem      chan struct{}
	logger   *slog.Logger
	now      func() time.Time
}

type gatewayEntry struct {
	url *url.URL

	mu      sync.Mutex
	keys    []byte
	fetched time.Time
}

// New checks cfg and builds a relay. base carries the requests to the
// gateways; nil means a transport that dials directly (no environment
// proxy), without compression.
func New(cfg Config, base http.RoundTripper, logger *slog.Logger) (*Relay, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConcurrent <= 0 || cfg.MaxRequestBytes <= 0 || cfg.MaxResponseBytes <= 0 || cfg.RequestTimeout <= 0 {
		return nil, errors.New("relay: limits must be positive")
	}
	r := &Relay{cfg: cfg, gateways: map[string]*gatewayEntry{}, sem: make(chan struct{}, cfg.MaxConcurrent), logger: logger, now: time.Now}
	for _, g := range cfg.Gateways {
		u, err := url.Parse(g)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("relay: gateway %q is not an http(s) URL", g)
		}
		r.gateways[u.Host] = &gatewayEntry{url: u}
	}
	if base == nil {
		base = &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   cfg.MaxConcurrent,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: cfg.RequestTimeout,
			DisableCompression:    true,
		}
	}
	r.client = &http.Client{Transport: base, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a gateway does not redirect; never follow one elsewhere
	}}
	return r, nil
}

// ServeHTTP is the relay resource.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := r.now()
	host := strings.TrimPrefix(req.URL.Path, "/")
	g := r.gateways[host]
	status := r.serve(w, req, g)
	// One event per request: no address, no header, no size.
	gw := "unknown"
	if g != nil {
		gw = host
	}
	r.logger.LogAttrs(req.Context(), slog.LevelInfo, "relay request",
		slog.String("method", req.Method), slog.String("gateway", gw),
		slog.Int("status", status), slog.Duration("duration", r.now().Sub(start).Round(time.Millisecond)))
}

func (r *Relay) serve(w http.ResponseWriter, req *http.Request, g *gatewayEntry) int {
	if g == nil {
		return problem(w, http.StatusNotFound, "unknown-gateway", "this relay forwards to its configured gateways only")
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return r.serveKeys(w, req, g)
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		return problem(w, http.StatusMethodNotAllowed, "method-not-allowed", "POST an encapsulated request or GET the key configuration")
	}
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	chunked := mt == ohttp.MediaTypeChunkedReq
	if mt != ohttp.MediaTypeRequest && !chunked {
		return problem(w, http.StatusUnsupportedMediaType, "unsupported-media-type",
			"POST "+ohttp.MediaTypeRequest+" or "+ohttp.MediaTypeChunkedReq)
	}
	if req.ContentLength > r.cfg.MaxRequestBytes {
		return problem(w, http.StatusRequestEntityTooLarge, "body-too-large", "the encapsulated request is too large")
	}
	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	default:
		w.Header().Set("Retry-After", "1")
		return problem(w, http.StatusServiceUnavailable, "busy", "the relay is at its concurrency limit; retry shortly")
	}

	ctx, cancel := context.WithTimeout(req.Context(), r.cfg.RequestTimeout)
	defer cancel()
	body := http.MaxBytesReader(w, req.Body, r.cfg.MaxRequestBytes)
	out, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url.String(), body)
	if err != nil {
		return problem(w, http.StatusInternalServerError, "internal", "internal error")
	}
	out.ContentLength = req.ContentLength
	out.Header = http.Header{"Content-Type": {mt}, "User-Agent": {""}} // an empty User-Agent is not sent
	if chunked {
		out.Header.Set("Incremental", "?1")
	}
	resp, err := r.client.Do(out)
	if err != nil {
		var mbe *http.MaxBytesError
		var op *net.OpError
		switch {
		case errors.As(err, &mbe):
			return problem(w, http.StatusRequestEntityTooLarge, "body-too-large", "the encapsulated request is too large")
		case errors.As(err, &op) && op.Op == "dial":
			return problem(w, http.StatusBadGateway, "gateway-unreachable", "the gateway could not be reached; nothing was forwarded")
		}
		return problem(w, http.StatusBadGateway, "gateway-error", "the gateway did not answer")
	}
	defer func() { _ = resp.Body.Close() }()
	h := w.Header()
	for _, name := range []string{"Content-Type", "Cache-Control", "Incremental"} {
		if v := resp.Header.Get(name); v != "" {
			h.Set(name, v)
		}
	}
	if resp.ContentLength >= 0 && resp.ContentLength <= r.cfg.MaxResponseBytes {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	stream(w, io.LimitReader(resp.Body, r.cfg.MaxResponseBytes))
	return resp.StatusCode
}

// stream copies src to w, flushing after every read so a chunked answer is
// not held back.
func stream(w http.ResponseWriter, src io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// serveKeys answers with the gateway's key configuration, fetched by the
// relay at most every KeyCache and the same for every client.
func (r *Relay) serveKeys(w http.ResponseWriter, req *http.Request, g *gatewayEntry) int {
	keys, err := r.keys(req.Context(), g)
	if err != nil {
		return problem(w, http.StatusBadGateway, "gateway-unreachable", "the gateway's key configuration could not be fetched")
	}
	h := w.Header()
	h.Set("Content-Type", ohttp.MediaTypeKeys)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(keys)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = w.Write(keys)
	}
	return http.StatusOK
}

func (r *Relay) keys(ctx context.Context, g *gatewayEntry) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keys != nil && r.now().Sub(g.fetched) < r.cfg.KeyCache {
		return g.keys, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.url.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header = http.Header{"Accept": {ohttp.MediaTypeKeys}, "User-Agent": {""}}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBody+1))
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != ohttp.MediaTypeKeys || len(b) > maxKeysBody {
		return nil, fmt.Errorf("relay: key configuration: %d %s", resp.StatusCode, mt)
	}
	if _, err := ohttp.ParseKeyConfigs(b); err != nil {
		return nil, err
	}
	g.keys, g.fetched = b, r.now()
	return b, nil
}

func problem(w http.ResponseWriter, status int, code, detail string) int {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": ProblemBase + code, "title": http.StatusText(status), "status": status, "detail": detail,
	})
	return status
}
