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

// upstreamBody is the body sent to the upstream: "model" renamed, "user"
// (an end-user identifier in OpenAI's API) removed.
func (in inference) upstreamBody(upstreamModel string) ([]byte, error) {
	out := make(map[string]json.RawMessage, len(in.fields))
	for k, v := range in.fields {
		out[k] = v
	}
	delete(out, "user")
	m, err := json.Marshal(upstreamModel)
	if err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	out["model"] = m
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode upstream body: %w", err)
	}
	return b, nil
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
