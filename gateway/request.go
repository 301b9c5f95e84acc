package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"github.com/blindpass/blindpass/internal/problem"
)

// inference is a parsed client request.
type inference struct {
	model  string
	stream bool
	fields map[string]json.RawMessage
}

// readBody reads the request body, at most limit bytes (413 beyond). A
// declared Content-Type must be JSON.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return nil, ErrNotJSON
		}
	}
	if r.ContentLength > limit {
		return nil, problem.New(problem.PayloadTooLarge, "body-too-large",
			fmt.Sprintf("the request body is larger than %d bytes", limit))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, problem.Wrap(problem.PayloadTooLarge, "body-too-large",
				fmt.Sprintf("the request body is larger than %d bytes", limit), err)
		}
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return body, nil
}

// parseInference decodes a JSON object and finds "model" (a non-empty
// string) and "stream" (a boolean, absent = false). Duplicate keys keep the
// last value, and the body is re-encoded before it is forwarded, so the
// upstream cannot read a different "model" than the gateway did.
func parseInference(body []byte) (inference, error) {
	var in inference
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in.fields); err != nil || in.fields == nil {
		return in, ErrBadJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return in, ErrBadJSON.With("the body must hold exactly one JSON object")
	}
	raw, ok := in.fields["model"]
	if !ok || json.Unmarshal(raw, &in.model) != nil || in.model == "" {
		return in, ErrBadJSON.With("\"model\" must be a non-empty string")
	}
	if raw, ok := in.fields["stream"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &in.stream) != nil {
			return in, ErrBadJSON.With("\"stream\" must be a boolean")
		}
	}
	return in, nil
}

// upstreamBody is the body sent to the upstream: "model" renamed, the
// identifying fields (StrippedFields) removed except those in pass, and on
// the generating routes an output cap added when the request names none.
func (in inference) upstreamBody(route string, m model, pass []string) ([]byte, error) {
	out := make(map[string]json.RawMessage, len(in.fields)+1)
	for k, v := range in.fields {
		out[k] = v
	}
	for _, name := range StrippedFields {
		if !slices.Contains(pass, name) {
			delete(out, name)
		}
	}
	if cap := m.limits.MaxOutputTokens; cap > 0 && route != routeEmbeddings &&
		isNull(out["max_tokens"]) && isNull(out["max_completion_tokens"]) {
		field := "max_tokens"
		if route == routeChat {
			field = m.limits.CapField
		}
		delete(out, "max_tokens")
		delete(out, "max_completion_tokens")
		out[field] = json.RawMessage(strconv.Itoa(cap))
	}
	out["model"] = m.upstreamID
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode upstream body: %w", err)
	}
	return b, nil
}

func isNull(raw json.RawMessage) bool { return raw == nil || string(raw) == "null" }

// checkLimits refuses a request whose cost-driving parameters pass the
// model's limits (or are not numbers where numbers belong).
func (in inference) checkLimits(route string, l Limits) error {
	limitInt := func(field string, max int) error {
		raw := in.fields[field]
		if isNull(raw) {
			return nil
		}
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil || n < 1 {
			return ErrBadParameter.Withf("%q must be a positive integer", field).WithExtension("param", field)
		}
		if max > 0 && n > int64(max) {
			return ErrParameterLimit.Withf("%q is at most %d for this model; the request asks for %d", field, max, n).
				WithExtension("param", field).WithExtension("limit", max)
		}
		return nil
	}
	limitCount := func(field string, max int) error {
		if max <= 0 {
			return nil
		}
		if n := countInputs(in.fields[field]); n > max {
			return ErrParameterLimit.Withf("%q holds at most %d items for this model; the request has %d", field, max, n).
				WithExtension("param", field).WithExtension("limit", max)
		}
		return nil
	}
	var checks []error
	switch route {
	case routeChat:
		checks = []error{limitInt("n", l.MaxN), limitInt("max_tokens", l.MaxOutputTokens),
			limitInt("max_completion_tokens", l.MaxOutputTokens)}
	case routeCompletions:
		checks = []error{limitInt("n", l.MaxN), limitInt("best_of", l.MaxBestOf),
			limitInt("max_tokens", l.MaxOutputTokens), limitCount("prompt", l.MaxPrompts)}
	case routeEmbeddings:
		checks = []error{limitCount("input", l.MaxInputs)}
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// countInputs counts the items of an OpenAI "prompt" or "input": a string
// or a list of token ids is one; a list of strings or of token lists has
// one per element.
func countInputs(raw json.RawMessage) int {
	var list []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &list) != nil {
		return 1
	}
	for _, item := range list {
		var n json.Number
		if json.Unmarshal(item, &n) != nil {
			return len(list) // strings or token lists: one input each
		}
	}
	return 1 // a list of token ids is one input
}

// Binding is the request-binding digest a spend is recorded under:
// SHA-256(method || 0x00 || path || 0x00 || body).
func Binding(method, path string, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)
}
