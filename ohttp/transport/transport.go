// Package transport is the client side of Oblivious HTTP: an
// http.RoundTripper that sends every request through an OHTTP relay
// (`blindpassd relay` or any RFC 9458 relay with the same path layout) to
// the target's gateway, so the target never sees the client's address.
//
// A request to https://redeemer.example/v1/chat/completions becomes a
// Binary HTTP request, encrypted for the redeemer's gateway key as a
// chunked OHTTP request (draft-ietf-ohai-chunked-ohttp) and POSTed to
// <relay>/redeemer.example. The answer is decrypted as it arrives, so a
// streamed (SSE) answer is read event by event.
//
// The gateway's key configuration is fetched through the relay as well
// (GET <relay>/<host>); the relay fetches it from the gateway for all of
// its users and serves everyone the same bytes, so the gateway cannot give
// one client a key of its own (key consistency). The transport refuses a
// list of more than MaxConfigs configurations.
package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/blindpass/blindpass/ohttp"
	"github.com/blindpass/blindpass/ohttp/bhttp"
)

// MaxConfigs is the most key configurations a gateway may list.
const MaxConfigs = 3

// Limits of what the transport sends and reads.
const (
	maxRequestBody = 1 << 20
	maxKeysBody    = 16 << 10
	maxProblemBody = 16 << 10
)

// KeyProblemType is RFC 9458 §5.3's problem type: the gateway does not
// have the key the request was encrypted for.
const KeyProblemType = "https://iana.org/assignments/http-problem-types#ohttp-key"

// ErrKeyConfig: the gateway's key configuration could not be fetched, is
// not acceptable, or the gateway refused the request's key even after a
// fresh fetch. The request was not processed.
var ErrKeyConfig = errors.New("ohttp: gateway key configuration")

// ErrRelay: the relay refused or failed to forward the request.
var ErrRelay = errors.New("ohttp: relay")

// Transport sends requests through an OHTTP relay.
type Transport struct {
	// Relay is the relay's base URL; the relay resource of a target host H
	// is Relay + "/" + H.
	Relay *url.URL
	// Base carries the requests to the relay; nil means a clone of
	// http.DefaultTransport. Set its Proxy to a socks5:// URL to reach the
	// relay over Tor.
	Base http.RoundTripper

	mu      sync.Mutex
	configs map[string]ohttp.KeyConfig // by target host
}

// New returns a Transport for the relay at relayURL over base.
func New(relayURL string, base http.RoundTripper) (*Transport, error) {
	u, err := url.Parse(relayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("ohttp: relay URL %q must be http(s)://host[/path]", relayURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Transport{Relay: u, Base: base}, nil
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// CloseIdleConnections closes the idle connections of the base transport.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// ResourceURL is the relay resource for the target host.
func (t *Transport) ResourceURL(host string) string {
	u := *t.Relay
	u.Path = t.Relay.Path + "/" + host
	u.RawPath = ""
	return u.String()
}

// notSent marks an error after which the target certainly did not process
// the request: it has the shape of a failed dial, which callers (the SDK's
// spend) already treat as "never sent" and so keep the request's tokens.
func notSent(err error) error {
	return &net.OpError{Op: "dial", Net: "ohttp", Err: err}
}

// KeyConfig returns the gateway key configuration of host, fetching it
// through the relay unless it is cached.
func (t *Transport) KeyConfig(ctx context.Context, host string) (ohttp.KeyConfig, error) {
	t.mu.Lock()
	c, ok := t.configs[host]
	t.mu.Unlock()
	if ok {
		return c, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.ResourceURL(host), nil)
	if err != nil {
		return c, err
	}
	req.Header.Set("Accept", ohttp.MediaTypeKeys)
	resp, err := t.base().RoundTrip(req)
	if err != nil {
		return c, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBody+1))
	if err != nil {
		return c, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != ohttp.MediaTypeKeys {
		return c, fmt.Errorf("%w of %s: the relay answered %d %s%s", ErrKeyConfig, host, resp.StatusCode, mt, problemDetail(body))
	}
	if len(body) > maxKeysBody {
		return c, fmt.Errorf("%w of %s: larger than %d bytes", ErrKeyConfig, host, maxKeysBody)
	}
	list, err := ohttp.ParseKeyConfigs(body)
	if err != nil {
		return c, fmt.Errorf("%w of %s: %w", ErrKeyConfig, host, err)
	}
	if len(list) > MaxConfigs {
		return c, fmt.Errorf("%w of %s: %d configurations, more than %d (a gateway could tag clients with them)", ErrKeyConfig, host, len(list), MaxConfigs)
	}
	if c, err = ohttp.Pick(list); err != nil {
		return c, fmt.Errorf("%w of %s: %w", ErrKeyConfig, host, err)
	}
	t.mu.Lock()
	if t.configs == nil {
		t.configs = map[string]ohttp.KeyConfig{}
	}
	t.configs[host] = c
	t.mu.Unlock()
	return c, nil
}

// Forget drops the cached configuration of host.
func (t *Transport) Forget(host string) {
	t.mu.Lock()
	delete(t.configs, host)
	t.mu.Unlock()
}

// SetKeyConfig pins host's configuration (tests; a client that checked one
// out of band).
func (t *Transport) SetKeyConfig(host string, c ohttp.KeyConfig) {
	t.mu.Lock()
	if t.configs == nil {
		t.configs = map[string]ohttp.KeyConfig{}
	}
	t.configs[host] = c
	t.mu.Unlock()
}

// hopByHop fields are not sent inside the encapsulated request.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "transfer-encoding": true,
	"upgrade": true, "te": true, "trailer": true, "host": true, "content-length": true,
}

// RoundTrip sends req through the relay. A gateway that no longer has the
// request's key (it rotated) makes the transport fetch the configuration
// again and retry once: the first attempt was not processed.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var content []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxRequestBody+1))
		_ = req.Body.Close()
		if err != nil {
			return nil, notSent(fmt.Errorf("ohttp: read request body: %w", err))
		}
		if len(b) > maxRequestBody {
			return nil, notSent(fmt.Errorf("ohttp: request body larger than %d bytes", maxRequestBody))
		}
		content = b
	}
	msg := encodeRequest(req, content)
	host := req.URL.Host
	for attempt := 0; ; attempt++ {
		cfg, err := t.KeyConfig(req.Context(), host)
		if err != nil {
			return nil, notSent(err)
		}
		resp, keyRefused, err := t.send(req, host, cfg, msg)
		if keyRefused {
			t.Forget(host)
			if attempt == 0 {
				continue
			}
			return nil, notSent(fmt.Errorf("%w of %s: the gateway refused the key the relay serves (key %d) even after a fresh fetch: the relay's copy is outdated or wrong; nothing was processed, retry later or use another relay", ErrKeyConfig, host, cfg.KeyID))
		}
		return resp, err
	}
}

func encodeRequest(req *http.Request, content []byte) []byte {
	br := &bhttp.Request{
		Method: req.Method, Scheme: req.URL.Scheme, Authority: req.URL.Host,
		Path: req.URL.RequestURI(), Content: content,
	}
	for name, values := range req.Header {
		n := strings.ToLower(name)
		if hopByHop[n] {
			continue
		}
		for _, v := range values {
			br.Header = append(br.Header, bhttp.Field{Name: n, Value: v})
		}
	}
	return br.Marshal()
}

func (t *Transport) send(req *http.Request, host string, cfg ohttp.KeyConfig, msg []byte) (*http.Response, bool, error) {
	enc, creq, err := ohttp.EncapsulateChunked(cfg, msg, nil)
	if err != nil {
		return nil, false, notSent(err)
	}
	out, err := http.NewRequestWithContext(req.Context(), http.MethodPost, t.ResourceURL(host), bytes.NewReader(enc))
	if err != nil {
		return nil, false, notSent(err)
	}
	out.Header.Set("Content-Type", ohttp.MediaTypeChunkedReq)
	out.Header.Set("Incremental", "?1")
	resp, err := t.base().RoundTrip(out)
	if err != nil {
		return nil, false, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != ohttp.MediaTypeChunkedRes {
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProblemBody))
		typ := problemType(body)
		switch {
		case typ == KeyProblemType:
			return nil, true, nil
		case strings.HasPrefix(typ, relayProblemBase) && notForwarded[strings.TrimPrefix(typ, relayProblemBase)]:
			return nil, false, notSent(fmt.Errorf("%w: %d%s", ErrRelay, resp.StatusCode, problemDetail(body)))
		case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnsupportedMediaType || resp.StatusCode == http.StatusRequestEntityTooLarge:
			// The gateway could not read the encapsulated request.
			return nil, false, notSent(fmt.Errorf("ohttp: the gateway refused the request: %d%s", resp.StatusCode, problemDetail(body)))
		}
		return nil, false, fmt.Errorf("%w: %d %s%s", ErrRelay, resp.StatusCode, mt, problemDetail(body))
	}
	plain := creq.OpenResponse(resp.Body)
	head, body, err := bhttp.ReadResponse(plain, bhttp.Limits{})
	if err != nil {
		_ = resp.Body.Close()
		return nil, false, fmt.Errorf("ohttp: encapsulated response: %w", err)
	}
	h := http.Header{}
	for _, f := range head.Header {
		h.Add(f.Name, f.Value)
	}
	length := int64(-1)
	if v, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && v >= 0 {
		length = v
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", head.Status, http.StatusText(head.Status)),
		StatusCode:    head.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          &responseBody{Reader: body, outer: resp.Body},
		ContentLength: length,
		Request:       req,
	}, false, nil
}

type responseBody struct {
	io.Reader
	outer io.Closer
}

func (b *responseBody) Close() error { return b.outer.Close() }

// relayProblemBase prefixes the relay's problem types; notForwarded are the
// relay's problems that prove the request never reached the gateway.
const relayProblemBase = "https://blindpass.dev/problems/relay-"

var notForwarded = map[string]bool{
	"busy": true, "unknown-gateway": true, "gateway-unreachable": true,
	"body-too-large": true, "unsupported-media-type": true, "method-not-allowed": true,
}

func problemType(body []byte) string {
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Type
}

func problemDetail(body []byte) string {
	var p struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) == nil && p.Detail != "" {
		return ": " + p.Detail
	}
	return ""
}
