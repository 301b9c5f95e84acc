// Package mockmodel is an OpenAI-compatible premium model for `blindpassd
// dev` and tests: deterministic replies derived from the request, models
// "mock-pro" and "mock-max", non-streaming and streaming (server-sent
// events) chat and text completions, and embeddings. It needs no key and
// keeps nothing.
package mockmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Models are the model names the mock answers to.
var Models = []string{"mock-pro", "mock-max"}

// Created is the fixed "created" time of every object (2024-01-01 UTC), so
// answers are byte-for-byte deterministic.
const Created int64 = 1704067200

// maxBody limits request bodies.
const maxBody = 1 << 20

// Handler serves /v1/models, /v1/chat/completions, /v1/completions and
// /v1/embeddings.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", listModels)
	mux.HandleFunc("POST /v1/chat/completions", chatCompletions)
	mux.HandleFunc("POST /v1/completions", completions)
	mux.HandleFunc("POST /v1/embeddings", embeddings)
	return mux
}

func listModels(w http.ResponseWriter, _ *http.Request) {
	data := make([]map[string]any, 0, len(Models))
	for _, m := range Models {
		data = append(data, map[string]any{"id": m, "object": "model", "created": Created, "owned_by": "mockmodel"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// decode reads a JSON request into v and checks its model; it answers the
// error itself and returns false on failure.
func decode(w http.ResponseWriter, r *http.Request, v interface{ modelName() string }) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", "the request body is too large")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "the body is not valid JSON: "+err.Error())
		return false
	}
	if !knownModel(v.modelName()) {
		writeError(w, http.StatusNotFound, "model_not_found",
			fmt.Sprintf("the model %q does not exist (try %s)", v.modelName(), strings.Join(Models, ", ")))
		return false
	}
	return true
}

func knownModel(m string) bool {
	for _, k := range Models {
		if k == m {
			return true
		}
	}
	return false
}

// reply is the deterministic answer of model to text.
func reply(model, text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return fmt.Sprintf("Hello from %s. Ask me anything; I repeat what you say.", model)
	}
	return fmt.Sprintf("Hello from %s. You wrote %d words: %s", model, len(strings.Fields(text)), text)
}

// id is a deterministic object id with a prefix.
func id(prefix, model, text string) string {
	sum := sha256.Sum256([]byte(model + "\x00" + text))
	return prefix + hex.EncodeToString(sum[:12])
}

// words counts white-space separated words, a stand-in for tokens in usage.
func words(s string) int { return len(strings.Fields(s)) }

// chunks splits s into pieces of a few words each, keeping the spaces, so
// that streaming sends several events.
func chunks(s string) []string {
	var out []string
	fields := strings.SplitAfter(s, " ")
	for i := 0; i < len(fields); i += 3 {
		out = append(out, strings.Join(fields[i:min(i+3, len(fields))], ""))
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in OpenAI's error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": "invalid_request_error", "code": code,
	}})
}

// sse writes server-sent events, flushing after each.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return sse{w: w, rc: http.NewResponseController(w)}
}

// event sends one "data:" event; it returns false once the client is gone.
func (s sse) event(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	return s.raw(string(b))
}

func (s sse) raw(data string) bool {
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", data); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}

// done ends the stream the OpenAI way.
func (s sse) done() { s.raw("[DONE]") }
