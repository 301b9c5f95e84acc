package mockmodel

import (
	"encoding/json"
	"net/http"
	"strings"
)

type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`
}

func (r chatRequest) modelName() string { return r.Model }

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text is the message content: a string, or the text parts of an array of
// content parts.
func (m chatMessage) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
			b.WriteString(" ")
		}
	}
	return b.String()
}

// lastUser is the text of the last user message.
func (r chatRequest) lastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].text()
		}
	}
	return ""
}

func (r chatRequest) promptWords() int {
	n := 0
	for _, m := range r.Messages {
		n += words(m.text())
	}
	return n
}

func chatCompletions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "messages must not be empty")
		return
	}
	text := req.lastUser()
	answer := reply(req.Model, text)
	cid := id("chatcmpl-", req.Model, text)
	if !req.Stream {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": cid, "object": "chat.completion", "created": Created, "model": req.Model,
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer},
			}},
			"usage": usage(req.promptWords(), words(answer)),
		})
		return
	}
	s := startSSE(w)
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": cid, "object": "chat.completion.chunk", "created": Created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		}
	}
	if !s.event(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for _, c := range chunks(answer) {
		if !s.event(chunk(map[string]any{"content": c}, nil)) {
			return
		}
	}
	if !s.event(chunk(map[string]any{}, "stop")) {
		return
	}
	s.done()
}

func usage(prompt, completion int) map[string]int {
	return map[string]int{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
}
