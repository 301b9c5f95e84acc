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
	"strconv"
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
	if body, err = dropIdentifiers(body); err != nil {
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
	stream := head.Stream || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	if stream {
		out.Header.Set("Accept", "text/event-stream")
	}
	// Do pays once per request: a retry of this exact body after an answer
	// that did not reach the app carries the same tokens (client.Do).
	resp, err := p.c.Do(r.Context(), out, cost)
	if p.refill != nil && cost > 0 {
		defer p.refill.Nudge()
	}
	if err != nil {
		p.payError(w, err)
		return
	}
	defer resp.Body.Close()
	if code := relay(w, resp, p.logger); code == "insufficient-tokens" || code == "too-many-tokens" {
		p.models.stale() // the model's cost changed: ask again before the next request
	}
	p.logger.Info("request", "model", head.Model, "cost", cost, "status", resp.StatusCode, "duration", time.Since(start).Round(time.Millisecond))
}

// payError answers an app whose request got no answer from the gateway.
func (p *proxy) payError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, client.ErrNoTokens):
		// Retrying will not help: tell the SDK so (x-should-retry).
		w.Header().Set("X-Should-Retry", "false")
		openAIError(w, http.StatusPaymentRequired, "insufficient_quota", p.noTokens(err).Error())
	case errors.Is(err, client.ErrSpentElsewhere):
		w.Header().Set("X-Should-Retry", "false")
		w.Header().Set(client.ConsumedHeader, "true")
		writeOpenAIError(w, http.StatusConflict, openAIErrorBody{Code: "token_already_spent", Message: "tokens from " +
			"your wallet were refused as already spent, and so were the others the proxy tried: a copy of this " +
			"wallet (an export, a backup, another device) spent them. They were dropped; the request was not answered.",
			ProblemType: problemBase + "token-already-spent", TokensConsumed: true})
	case errors.Is(err, client.ErrReplayLimit):
		// The tokens are spent; an SDK retry would buy a new answer.
		w.Header().Set("X-Should-Retry", "false")
		w.Header().Set(client.ConsumedHeader, "true")
		writeOpenAIError(w, http.StatusConflict, openAIErrorBody{Code: "replay_limit", Message: "this exact request was " +
			"already answered as often as one payment allows (its earlier answers did not reach the app); its tokens " +
			"are spent. Send it again to pay for a new answer.", ProblemType: problemBase + "replay-limit", TokensConsumed: true})
	case errors.Is(err, context.Canceled):
		// The app hung up; nobody reads this answer.
		openAIError(w, statusClientClosed, "client_closed", "the request was cancelled")
	case errors.Is(err, client.ErrCostTooHigh):
		w.Header().Set("X-Should-Retry", "false")
		openAIError(w, http.StatusBadGateway, "cost_too_high", err.Error())
	case errors.As(err, new(*client.ChallengeChangedError)):
		w.Header().Set("X-Should-Retry", "false")
		openAIError(w, http.StatusBadGateway, "challenge_changed", err.Error())
	case !errors.As(err, new(*client.UnreachableError)):
		p.logger.Warn("request failed", "error", err)
		openAIError(w, http.StatusBadGateway, "proxy_error", err.Error())
	case errors.Is(err, client.ErrTokensReturned):
		p.logger.Warn("request failed", "error", err)
		w.Header().Set(client.ConsumedHeader, "false")
		writeOpenAIError(w, http.StatusBadGateway, openAIErrorBody{Code: "redeemer_unreachable", Message: err.Error(), TokensConsumed: false})
	default:
		p.logger.Warn("request failed", "error", err)
		// The tokens (if any left this machine) are kept for an exact
		// retry of this request: the SDK's retry costs nothing more.
		w.Header().Set(client.ConsumedHeader, "unknown")
		writeOpenAIError(w, http.StatusBadGateway, openAIErrorBody{Code: "redeemer_unreachable", Message: err.Error() +
			" (the tokens are kept for a retry of this exact request)", TokensConsumed: "unknown"})
	}
}

// statusClientClosed is nginx's "client closed request".
const statusClientClosed = 499

func (p *proxy) upstreamError(w http.ResponseWriter, err error) {
	p.logger.Warn("request failed", "error", err)
	openAIError(w, http.StatusBadGateway, "redeemer_unreachable", err.Error())
}

// problemBase is the base of Blindpass problem type URIs.
const problemBase = "https://blindpass.dev/problems/"

// relayHeaders are the gateway answer headers passed to the app.
var relayHeaders = []string{"Cache-Control", "Retry-After", client.ConsumedHeader}

// relay copies the gateway's answer to the app: status, the few headers
// that matter, and the body, flushed as it arrives so streams pass
// through. Error answers are given to the app in OpenAI's error shape
// (problem+json from an older gateway is converted). A stream that ends
// without "data: [DONE]" and without an error event, or whose connection
// to the gateway breaks, gets the stream_cut error event, so the app's SDK
// raises an error instead of taking the partial text as the answer. When
// the app cannot be written to, the answer is marked undelivered: its
// tokens stay reserved for the app's retry.
//
// It returns the problem code of an error answer ("" when none).
func relay(w http.ResponseWriter, resp *http.Response, logger *slog.Logger) (code string) {
	for _, h := range relayHeaders {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	if resp.StatusCode >= 400 {
		return relayError(w, resp)
	}
	ct := resp.Header.Get("Content-Type")
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	mt, _, _ := mime.ParseMediaType(ct)
	stream := mt == "text/event-stream"
	if !stream && resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	var sse sseState
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if stream {
				sse.scan(buf[:n])
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				client.MarkUndelivered(resp) // the app hung up
				return ""
			}
			if rc.Flush() != nil {
				client.MarkUndelivered(resp)
				return ""
			}
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) {
			logger.Warn("answer cut off", "error", err)
		}
		if stream && !sse.done && !sse.errored {
			// Ended without [DONE] or an error event: say so in the form the
			// OpenAI SDKs raise.
			_, _ = w.Write(streamCutEvent(sse.last, resp.Header.Get(client.ConsumedHeader)))
			_ = rc.Flush()
		}
		return ""
	}
}

// relayError passes a gateway error answer on in OpenAI's shape and returns
// its problem code.
func relayError(w http.ResponseWriter, resp *http.Response) string {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	f := client.ParseErrorBody(b)
	var probe struct {
		Error json.RawMessage `json:"error"`
	}
	if err == nil && mt == "application/json" && json.Unmarshal(b, &probe) == nil && len(probe.Error) > 0 && probe.Error[0] == '{' {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(b)
		return f.Code
	}
	e := openAIErrorBody{Code: strings.ReplaceAll(f.Code, "-", "_"), Message: f.Message, ProblemType: f.ProblemType}
	if e.Code == "" {
		e.Code = "http_" + strconv.Itoa(resp.StatusCode)
	}
	if e.Message == "" {
		e.Message = "the gateway answered HTTP " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	switch f.TokensConsumed {
	case "true":
		e.TokensConsumed = true
	case "false":
		e.TokensConsumed = false
	case "":
	default:
		e.TokensConsumed = f.TokensConsumed
	}
	writeOpenAIError(w, resp.StatusCode, e)
	return f.Code
}

// sseState follows a server-sent event stream for "data: [DONE]" and error
// events ("data: {"error":…}").
type sseState struct {
	line          []byte
	done, errored bool
	last          byte // the last byte seen (0: none)
}

func (s *sseState) scan(p []byte) {
	const keep = 32
	if len(p) > 0 {
		s.last = p[len(p)-1]
	}
	for _, ch := range p {
		if ch != '\n' {
			if len(s.line) < keep {
				s.line = append(s.line, ch)
			}
			continue
		}
		l := strings.TrimSuffix(string(s.line), "\r")
		s.line = s.line[:0]
		data, ok := strings.CutPrefix(l, "data:")
		if !ok {
			continue
		}
		data = strings.TrimLeft(data, " ")
		switch {
		case data == "[DONE]":
			s.done = true
		case strings.HasPrefix(strings.ReplaceAll(data, " ", ""), `{"error"`):
			s.errored = true
		}
	}
}

// streamCutEvent is the SSE error event for a stream that ended early,
// after last, the stream's last byte: it starts by ending a pending event
// (or a line cut in the middle) so the error is an event of its own.
func streamCutEvent(last byte, consumed string) []byte {
	e := openAIErrorBody{Code: "stream_cut", Message: "the answer was cut off before its end (no data: [DONE]); " +
		"retry the same request: it carries the same tokens and costs nothing more"}
	switch consumed {
	case "true", "replayed":
		e.TokensConsumed = true
	case "unknown":
		e.TokensConsumed = "unknown"
	}
	b, _ := json.Marshal(map[string]any{"error": e.fields()})
	prefix := ""
	switch last {
	case 0:
	case '\n':
		prefix = "\n"
	default:
		prefix = "\n\n"
	}
	return append(append([]byte(prefix+"data: "), b...), "\n\n"...)
}

// identifierFields are OpenAI request members that identify an end user or
// link one user's requests; the proxy removes them before anything leaves
// this machine (the redeemer sees the body too).
var identifierFields = []string{"user", "safety_identifier", "prompt_cache_key", "metadata"}

// dropIdentifiers removes identifierFields from a request body; a body
// without them is kept byte for byte.
func dropIdentifiers(body []byte) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	found := false
	for _, k := range identifierFields {
		if _, ok := obj[k]; ok {
			delete(obj, k)
			found = true
		}
	}
	if !found {
		return body, nil
	}
	return json.Marshal(obj)
}

// openAIErrorBody is OpenAI's error object with the Blindpass members of
// TEAM/DESIGN's contract: type and code are the problem code in snake case.
type openAIErrorBody struct {
	Code, Message, ProblemType string
	TokensConsumed             any // nil: not said; true, false or "unknown"
}

func (e openAIErrorBody) fields() map[string]any {
	m := map[string]any{"message": e.Message, "type": e.Code, "code": e.Code, "param": nil}
	if e.ProblemType != "" {
		m["problem_type"] = e.ProblemType
	}
	if e.TokensConsumed != nil {
		m["tokens_consumed"] = e.TokensConsumed
	}
	return m
}

func writeOpenAIError(w http.ResponseWriter, status int, e openAIErrorBody) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e.fields()})
}

// openAIError answers in OpenAI's error shape, which OpenAI clients show.
func openAIError(w http.ResponseWriter, status int, code, msg string) {
	writeOpenAIError(w, status, openAIErrorBody{Code: code, Message: msg})
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

// stale makes the next cost lookup ask the gateway again (the old list is
// kept if that fails).
func (m *modelCache) stale() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.fetched.IsZero() {
		m.fetched = m.now().Add(-modelsFresh)
	}
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
