package mockmodel

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/http"
)

// Dimensions is the length of every mock embedding.
const Dimensions = 16

type embeddingRequest struct {
	Model string          `json:"model"`
	Input json.RawMessage `json:"input"`
}

func (r embeddingRequest) modelName() string { return r.Model }

func embeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	if !decode(w, r, &req) {
		return
	}
	var inputs []string
	var one string
	switch {
	case json.Unmarshal(req.Input, &one) == nil:
		inputs = []string{one}
	case json.Unmarshal(req.Input, &inputs) == nil && len(inputs) > 0:
	default:
		writeError(w, http.StatusBadRequest, "invalid_input", "input must be a string or a non-empty array of strings")
		return
	}
	data := make([]any, len(inputs))
	n := 0
	for i, in := range inputs {
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": Embed(req.Model, in)}
		n += words(in)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": n, "total_tokens": n},
	})
}

// Embed is the deterministic unit-free vector the mock returns for input:
// Dimensions values in [-1, 1) derived from SHA-256 of model and input.
func Embed(model, input string) []float64 {
	out := make([]float64, Dimensions)
	sum := sha256.Sum256([]byte(model + "\x00" + input))
	for i := range out {
		v := binary.BigEndian.Uint16(sum[(2*i)%len(sum):])
		out[i] = float64(v)/32768 - 1
	}
	return out
}
