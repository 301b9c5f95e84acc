// Package gateway is the Oblivious Gateway Resource (RFC 9458 §6) of the
// redeemer and the issuer: it serves the key configuration at
// /.well-known/ohttp-gateway (RFC 9540, application/ohttp-keys), decrypts
// encapsulated Binary HTTP requests POSTed there (message/ohttp-req or,
// for streamed answers, message/ohttp-chunked-req) and hands each inner
// request to the same handler that serves direct requests: same routes,
// same problems, the same one log line and metrics. The outer request is
// neither logged nor counted, and the inner request carries no client
// address (its RemoteAddr is 0.0.0.0:0): it came through a relay.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blindpass/blindpass/ohttp"
	"github.com/blindpass/blindpass/ohttp/bhttp"
)

// Path is the RFC 9540 well-known URI: GET gives the key configuration,
// POST is the gateway resource.
const Path = "/.well-known/ohttp-gateway"

// KeyProblemType is RFC 9458 §5.3's problem type for a request under a key
// the gateway does not have (the client should fetch the configuration
// again).
const KeyProblemType = "https://iana.org/assignments/http-problem-types#ohttp-key"

// Limits of an encapsulated request.
const (
	// MaxRequest bounds an encapsulated request's size.
	MaxRequest = 1<<20 + 64<<10
	// innerAddr is the RemoteAddr of an inner request.
	innerAddr = "0.0.0.0:0"
	// reloadEvery is how often the keyring file is checked for a rotation.
	reloadEvery = 10 * time.Second
)

// Gateway decrypts and dispatches OHTTP requests to a handler.
type Gateway struct {
	path, kekPath string
	kek           []byte
	logger        *slog.Logger

	keys    atomic.Pointer[ohttp.Keys]
	configs atomic.Pointer[[]byte] // the application/ohttp-keys body

	// ReloadEvery is how often the keyring file is checked for a rotation
	// made by another process (default 10s; negative: on every request).
	ReloadEvery time.Duration

	mu      sync.Mutex
	modTime time.Time
	checked time.Time
}

// New loads the keyring at path (sealed under kek), creating it with one
// key when it does not exist.
func New(path string, kek []byte, logger *slog.Logger) (*Gateway, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := Ensure(path, kek, time.Now()); err != nil {
		return nil, err
	}
	g := &Gateway{path: path, kek: kek, logger: logger}
	if err := g.reload(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Gateway) reload() error {
	st, err := os.Stat(g.path)
	if err != nil {
		return fmt.Errorf("gateway: OHTTP keyring: %w", err)
	}
	ks, _, err := LoadKeys(g.path, g.kek)
	if err != nil {
		return err
	}
	body := ohttp.MarshalKeyConfigs(ks.Configs())
	g.keys.Store(&ks)
	g.configs.Store(&body)
	g.modTime = st.ModTime()
	return nil
}

// maybeReload picks up a rotation made by `blindpassd ohttp-keys rotate`
// (another process), at most every reloadEvery.
func (g *Gateway) maybeReload() {
	g.mu.Lock()
	defer g.mu.Unlock()
	every := g.ReloadEvery
	if every == 0 {
		every = reloadEvery
	}
	if time.Since(g.checked) < every {
		return
	}
	g.checked = time.Now()
	st, err := os.Stat(g.path)
	if err != nil || st.ModTime().Equal(g.modTime) {
		return
	}
	if err := g.reload(); err != nil {
		g.logger.Error("OHTTP keyring reload failed; keeping the keys loaded before", "error", err.Error())
	}
}

// DefaultRotateEvery is how old the newest gateway key gets before Run
// rotates it.
const DefaultRotateEvery = 30 * 24 * time.Hour

// Run rotates the keyring when its newest key is older than every (0:
// DefaultRotateEvery), checking every minute until ctx ends, like the
// issuer's key schedule; the previous key stays for clients that fetched
// the configuration before. Replicas sharing the keyring rotate once.
func (g *Gateway) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = DefaultRotateEvery
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		rotated, err := RotateIfOlder(g.path, g.kek, time.Now(), every)
		if err != nil {
			g.logger.Error("OHTTP key rotation failed; the current keys stay", "error", err.Error())
		}
		if rotated {
			g.logger.Info("OHTTP gateway key rotated")
			g.mu.Lock()
			g.checked = time.Time{}
			g.mu.Unlock()
			g.maybeReload()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Configs is the current application/ohttp-keys body.
func (g *Gateway) Configs() []byte { return *g.configs.Load() }

// Wrap serves Path itself and passes every other request to next. Inner
// requests go to next as well.
func (g *Gateway) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path {
			next.ServeHTTP(w, r)
			return
		}
		g.maybeReload()
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h := w.Header()
			h.Set("Content-Type", ohttp.MediaTypeKeys)
			h.Set("Cache-Control", "public, max-age=3600")
			body := g.Configs()
			h.Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = w.Write(body)
			}
		case http.MethodPost:
			g.serve(w, r, next)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			writeProblem(w, http.StatusMethodNotAllowed, "method-not-allowed", "GET the key configuration or POST an encapsulated request")
		}
	})
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	ks := *g.keys.Load()
	body := http.MaxBytesReader(w, r.Body, MaxRequest)
	switch mt {
	case ohttp.MediaTypeRequest:
		enc, err := io.ReadAll(body)
		if err != nil {
			writeProblem(w, http.StatusRequestEntityTooLarge, "body-too-large", "the encapsulated request is too large")
			return
		}
		msg, rc, err := ks.DecapsulateRequest(enc)
		if err != nil {
			writeDecapError(w, err)
			return
		}
		inner, err := innerRequest(r, msg)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "bhttp-malformed", err.Error())
			return
		}
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, inner)
		out, err := rc.SealResponse(rec.response().Marshal(), nil)
		if err != nil {
			writeProblem(w, http.StatusInternalServerError, "internal", "internal error")
			return
		}
		w.Header().Set("Content-Type", ohttp.MediaTypeResponse)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
	case ohttp.MediaTypeChunkedReq:
		cr, err := ks.OpenChunkedRequest(body)
		if err != nil {
			writeDecapError(w, err)
			return
		}
		msg, err := io.ReadAll(io.LimitReader(cr, MaxRequest+1))
		if err == nil && len(msg) > MaxRequest {
			err = errors.New("the inner request is too large")
		}
		if err != nil {
			writeDecapError(w, err)
			return
		}
		inner, err := innerRequest(r, msg)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "bhttp-malformed", err.Error())
			return
		}
		w.Header().Set("Content-Type", ohttp.MediaTypeChunkedRes)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Incremental", "?1")
		w.WriteHeader(http.StatusOK)
		flush := func() {}
		if f, ok := w.(http.Flusher); ok {
			flush = f.Flush
		}
		cw, err := cr.NewResponseWriter(w, nil)
		if err != nil {
			return // the client sees a response without its final chunk: an error
		}
		sw := &streamWriter{header: http.Header{}, out: cw, flush: flush}
		next.ServeHTTP(sw, inner)
		sw.finish()
	default:
		writeProblem(w, http.StatusUnsupportedMediaType, "unsupported-media-type",
			"POST "+ohttp.MediaTypeRequest+" or "+ohttp.MediaTypeChunkedReq)
	}
}

// writeDecapError maps a decapsulation failure to RFC 9458 §5.3/§6.
func writeDecapError(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ohttp.ErrUnknownKey), errors.Is(err, ohttp.ErrUnsupported):
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"type":   KeyProblemType,
			"title":  "oblivious HTTP key configuration not acceptable",
			"status": http.StatusBadRequest,
			"detail": "the request uses a key configuration this gateway does not have: fetch " + Path + " again",
		})
	case errors.As(err, &mbe):
		writeProblem(w, http.StatusRequestEntityTooLarge, "body-too-large", "the encapsulated request is too large")
	case errors.Is(err, ohttp.ErrDecrypt):
		writeProblem(w, http.StatusBadRequest, "ohttp-decrypt", "the encapsulated request does not decrypt")
	default:
		writeProblem(w, http.StatusBadRequest, "ohttp-malformed", "the encapsulated request is malformed")
	}
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	writeJSON(w, status, map[string]any{
		"type":   "https://blindpass.dev/problems/" + code,
		"title":  http.StatusText(status),
		"status": status,
		"detail": detail,
	})
}

func writeJSON(w http.ResponseWriter, status int, body map[string]any) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// hopByHop are fields that describe one connection, not the message.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "transfer-encoding": true,
	"upgrade": true, "te": true, "trailer": true, "host": true, "content-length": true,
}

// innerRequest builds the request next serves from a Binary HTTP request.
// It targets this server whatever its authority says, comes from no
// address, and is cancelled with the outer request.
func innerRequest(outer *http.Request, msg []byte) (*http.Request, error) {
	br, err := bhttp.ParseRequest(msg, bhttp.Limits{MaxContent: MaxRequest})
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(br.Path, "/") {
		return nil, fmt.Errorf("inner request path %q is not absolute", br.Path)
	}
	u, err := url.ParseRequestURI(br.Path)
	if err != nil {
		return nil, fmt.Errorf("inner request path: %w", err)
	}
	if u.Path == Path {
		return nil, errors.New("an inner request cannot target the gateway itself")
	}
	r, err := http.NewRequestWithContext(outer.Context(), br.Method, br.Path, bytes.NewReader(br.Content))
	if err != nil {
		return nil, err
	}
	for _, f := range br.Header {
		if !hopByHop[f.Name] {
			r.Header.Add(f.Name, f.Value)
		}
	}
	for _, f := range br.Trailer {
		if !hopByHop[f.Name] {
			r.Header.Add(f.Name, f.Value)
		}
	}
	r.ContentLength = int64(len(br.Content))
	if len(br.Content) == 0 {
		r.Body = http.NoBody
	}
	r.Host = outer.Host
	r.RemoteAddr = innerAddr
	r.RequestURI = br.Path
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.TLS = outer.TLS
	return r, nil
}

// fields turns a response header into field lines (lowercase names, no
// hop-by-hop fields, no values HTTP/2 would refuse).
func fields(h http.Header, dropLength bool) []bhttp.Field {
	var fs []bhttp.Field
	for name, values := range h {
		n := strings.ToLower(name)
		if hopByHop[n] && (n != "content-length" || dropLength) {
			continue
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\x00\r\n") {
				continue
			}
			fs = append(fs, bhttp.Field{Name: n, Value: strings.Trim(v, " \t")})
		}
	}
	return fs
}

// recorder keeps a whole inner response (for message/ohttp-res).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}
func (r *recorder) Flush() {}

func (r *recorder) response() *bhttp.Response {
	st := r.status
	if st == 0 {
		st = http.StatusOK
	}
	return &bhttp.Response{Status: st, Header: fields(r.header, false), Content: r.body.Bytes()}
}

// streamWriter sends an inner response as it is written: its head on the
// first write, each write as one content chunk, each Flush down to the
// client (so an SSE answer arrives event by event through the relay).
type streamWriter struct {
	header http.Header
	out    *ohttp.ChunkedResponseWriter
	flush  func()
	status int
	failed bool
}

func (s *streamWriter) Header() http.Header { return s.header }

func (s *streamWriter) WriteHeader(code int) {
	if s.status != 0 || code < 200 {
		return
	}
	s.status = code
	s.send(bhttp.AppendResponseHead(nil, code, fields(s.header, true)))
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	if len(p) == 0 {
		return 0, nil
	}
	if !s.send(bhttp.AppendChunk(nil, p)) {
		return 0, errors.New("gateway: client gone")
	}
	return len(p), nil
}

func (s *streamWriter) Flush() {
	s.WriteHeader(http.StatusOK)
	if !s.failed {
		s.flush()
	}
}

func (s *streamWriter) send(b []byte) bool {
	if s.failed {
		return false
	}
	if _, err := s.out.Write(b); err != nil {
		s.failed = true
		return false
	}
	return true
}

// finish ends the inner response and the encapsulated stream.
func (s *streamWriter) finish() {
	s.WriteHeader(http.StatusOK)
	if s.send(bhttp.AppendResponseEnd(nil, nil)) {
		if err := s.out.Close(); err == nil {
			s.flush()
		}
	}
}
