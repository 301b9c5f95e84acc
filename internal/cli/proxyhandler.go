package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/blindpass/blindpass/client"
)

// Proxy limits.
const (
	maxProxyBody   = 16 << 20
	modelsFresh    = 10 * time.Minute // the model list is asked for again after this
	modelsMinAgain = 5 * time.Second  // at most this often for an unknown model
)

// paidPaths are the gateway routes the proxy pays for.
var paidPaths = map[string]bool{
	"/v1/chat/completions": true,
	"/v1/completions":      true,
	"/v1/embeddings":       true,
}

// proxy is the local OpenAI-compatible endpoint: it forwards an app's
// requests to the redeemer's gateway with tokens attached, and nothing of
// the app's own headers.
type proxy struct {
	c           *client.Client
	redeemer    string
	models      *modelCache
	refill      *refiller // nil: no background refill
	allowRemote bool
	logger      *slog.Logger
	noTokens    func(error) error // explains client.ErrNoTokens
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A browser page can make a loopback request under another host name
	// (DNS rebinding); only loopback names are served.
	if !p.allowRemote && !loopbackHost(hostOf(r.Host)) {
		openAIError(w, http.StatusForbidden, "forbidden", "this proxy serves only requests to localhost or a loopback address")
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/v1/models" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		p.forwardModels(w, r)
	case paidPaths[path] && r.Method == http.MethodPost:
		p.forwardPaid(w, r, path)
	case paidPaths[path] || path == "/v1/models":
		openAIError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+path)
	default:
		openAIError(w, http.StatusNotFound, "not_found", "no such endpoint: the proxy serves /v1/chat/completions, /v1/completions, /v1/embeddings and /v1/models")
	}
}

func (p *proxy) forwardModels(w http.ResponseWriter, r *http.Request) {
	out, err := http.NewRequestWithContext(r.Context(), http.MethodGet, p.redeemer+"/v1/models", nil)
	if err != nil {
		openAIError(w, http.StatusInternalServerError, "internal_error", "cannot build the request")
		return
	}
	out.Header.Set("Accept", "application/json")
	resp, err := p.c.Do(r.Context(), out, 0)
	if err != nil {
		p.upstreamError(w, err)
		return
	}
	defer resp.Body.Close()
	relay(w, resp, p.logger)
}

func (p *proxy) forwardPaid(w http.ResponseWriter, r *http.Request, path string) {
	start := time.Now()
	// Requiring JSON also keeps browser pages from posting here without a
	// CORS preflight, which the proxy never grants.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		openAIError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the request as Content-Type: application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxProxyBody))
	if err != nil {
		openAIError(w, http.StatusRequestEntityTooLarge, "request_too_large", "the request body is too large")
		return
	}
	var head struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_json", "the body is not a JSON object with a model")
		return
	}
	if body, err = dropUser(body); err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_json", "the body is not a JSON object with a model")
		return
	}
	cost, err := p.models.cost(r.Context(), head.Model)
	if err != nil {
		p.upstreamError(w, err)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.redeemer+path, bytes.NewReader(body))
	if err != nil {
		openAIError(w, http.StatusInternalServerError, "internal_error", "cannot build the request")
		return
	}
	// A fresh header set: nothing of the app's (Authorization, User-Agent,
	// cookies, forwarding headers) goes on.
	out.Header.Set("Content-Type", "application/json")
	out.Header.Set("User-Agent", "blindpass")
	out.Header.Set("Accept", "application/json")
	if head.Stream || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		out.Header.Set("Accept", "text/event-stream")
	}
	resp, err := p.c.Do(r.Context(), out, cost)
	if p.refill != nil && cost > 0 {
		defer p.refill.Nudge()
	}
	if errors.Is(err, client.ErrNoTokens) {
		openAIError(w, http.StatusPaymentRequired, "insufficient_quota", p.noTokens(err).Error())
		return
	}
	if err != nil {
		p.upstreamError(w, err)
		return
	}
	defer resp.Body.Close()
	relay(w, resp, p.logger)
	p.logger.Info("request", "model", head.Model, "cost", cost, "status", resp.StatusCode, "duration", time.Since(start).Round(time.Millisecond))
}

func (p *proxy) upstreamError(w http.ResponseWriter, err error) {
	p.logger.Warn("request failed", "error", err)
	openAIError(w, http.StatusBadGateway, "redeemer_unreachable", err.Error())
}

// relay copies the gateway's answer: status, the few headers that matter,
// and the body, flushed as it arrives so streams pass through.
func relay(w http.ResponseWriter, resp *http.Response, logger *slog.Logger) {
	for _, h := range []string{"Content-Type", "Cache-Control", "Retry-After", client.ConsumedHeader} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the app hung up
			}
			_ = rc.Flush()
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				logger.Warn("answer cut off", "error", err)
			}
			return
		}
	}
}

// dropUser removes OpenAI's "user" member (an end-user identifier some
// apps send) from a request body; a body without it is kept byte for byte.
func dropUser(body []byte) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	if _, ok := obj["user"]; !ok {
		return body, nil
	}
	delete(obj, "user")
	return json.Marshal(obj)
}

// openAIError answers in OpenAI's error shape, which OpenAI clients show.
func openAIError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": "blindpass_proxy_error", "code": code,
	}})
}

// modelCache is the gateway's model list with each model's cost.
type modelCache struct {
	c        *client.Client
	redeemer string
	now      func() time.Time

	mu      sync.Mutex
	models  []client.Model
	fetched time.Time
}

// cost is the model's cost in tokens; a model the gateway does not list
// costs 0 here, and the gateway answers it with unknown-model.
func (m *modelCache) cost(ctx context.Context, id string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	age := m.now().Sub(m.fetched)
	c, ok := client.ModelCost(m.models, id)
	if ok && age < modelsFresh {
		return c, nil
	}
	if m.fetched.IsZero() || age >= modelsMinAgain {
		models, err := m.c.Models(ctx, m.redeemer)
		if err != nil && m.fetched.IsZero() {
			return 0, err
		}
		if err == nil {
			m.models, m.fetched = models, m.now()
		}
	}
	c, _ = client.ModelCost(m.models, id)
	return c, nil
}
