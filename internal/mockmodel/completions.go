package mockmodel

import (
	"encoding/json"
	"net/http"
	"strings"
)

type completionRequest struct {
	Model  string          `json:"model"`
	Prompt json.RawMessage `json:"prompt"`
	Stream bool            `json:"stream"`
}

func (r completionRequest) modelName() string { return r.Model }

// prompt is the prompt string, or the strings of a prompt array joined.
func (r completionRequest) prompt() string {
	var s string
	if json.Unmarshal(r.Prompt, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(r.Prompt, &list) == nil {
		return strings.Join(list, " ")
	}
	return ""
}

func completions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if !decode(w, r, &req) {
		return
	}
	text := req.prompt()
	answer := reply(req.Model, text)
	cid := id("cmpl-", req.Model, text)
	obj := func(text string, finish any) map[string]any {
		return map[string]any{
			"id": cid, "object": "text_completion", "created": Created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "text": text, "finish_reason": finish, "logprobs": nil}},
		}
	}
	if !req.Stream {
		o := obj(answer, "stop")
		o["usage"] = usage(words(text), words(answer))
		writeJSON(w, http.StatusOK, o)
		return
	}
	s := startSSE(w)
	for _, c := range chunks(answer) {
		if !s.event(obj(c, nil)) {
			return
		}
	}
	if !s.event(obj("", "stop")) {
		return
	}
	s.done()
}
