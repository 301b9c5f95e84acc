package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkAnswerRewrite: the cost of naming the public model in an answer,
// against the raw operation of one pass over the same bytes (json.Valid),
// and per server-sent event against a copy of the event.
func BenchmarkAnswerRewrite(b *testing.B) {
	answer := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1704067200,"model":"llama3.2:70b",` +
		`"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"` +
		strings.Repeat("word ", 150) + `"}}],"usage":{"prompt_tokens":5,"completion_tokens":150,"total_tokens":155}}`)
	event := []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1704067200,"model":"llama3.2:70b","choices":[{"index":0,"delta":{"content":"three more words "},"finish_reason":null}]}` + "\n\n")
	pub := []byte(`"blindpass-pro"`)
	b.Run("raw json.Valid", func(b *testing.B) {
		for b.Loop() {
			_ = json.Valid(answer)
		}
	})
	b.Run("rewriteModel", func(b *testing.B) {
		for b.Loop() {
			_ = rewriteModel(answer, pub)
		}
	})
	b.Run("raw event copy", func(b *testing.B) {
		for b.Loop() {
			_ = append([]byte(nil), event...)
		}
	})
	b.Run("rewriteEvent", func(b *testing.B) {
		for b.Loop() {
			_ = rewriteEvent(event, pub)
		}
	})
}
