package audit

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"sync"
)

// Request is one HTTP request a fake third party (Stripe, the upstream
// model provider) received, complete.
type Request struct {
	Method     string
	Path       string
	RawQuery   string
	RemoteAddr string // the peer's address as the third party saw it
	Header     http.Header
	Body       []byte
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Body = slices.Clone(r.Body)
	return r
}

// Recorder is an http.Handler that keeps every request it receives, then
// lets next answer it.
type Recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []Request
}

// Record wraps next.
func Record(next http.Handler) *Recorder { return &Recorder{next: next} }

// ServeHTTP records the request (its body read whole) and serves it.
func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := r.Header.Clone()
	if r.Host != "" {
		h.Set("Host", r.Host) // net/http moves Host out of the header map
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		RemoteAddr: r.RemoteAddr, Header: h, Body: body})
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

// Requests returns a copy of what was received so far.
func (rec *Recorder) Requests() []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]Request, len(rec.reqs))
	for i, r := range rec.reqs {
		out[i] = r.clone()
	}
	return out
}
