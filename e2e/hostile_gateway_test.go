package e2e

import (
	"bytes"
	"net/http"
	"strings"
)

// gatewayCases: the premium OpenAI-compatible routes of the redeemer
// listener. The paid model "blindpass-pro" costs 1 token, "blindpass-max" 2.
func gatewayCases(m material) []hostile {
	good := m.good[1].Marshal()
	const chat = "/v1/chat/completions"
	g := func(name, path, ctype string, tokens [][]byte, body string, want int, code string) hostile {
		var h [][2]string
		if ctype != "" {
			h = append(h, [2]string{"Content-Type", ctype})
		}
		if len(tokens) > 0 {
			h = append(h, [2]string{"Authorization", tokenAuth(tokens...)})
		}
		return hostile{name: "gateway/" + name, target: "redeemer", path: path, header: h, body: []byte(body), want: want, code: code}
	}
	const js = "application/json"
	pro := `{"model":"blindpass-pro","messages":[{"role":"user","content":"hi"}]}`
	one := [][]byte{good}
	deep := `{"model":"blindpass-pro","messages":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
	return []hostile{
		g("paid model without a token", chat, js, nil, pro, 401, "token-required"),
		g("not JSON", chat, js, one, `model=blindpass-pro`, 400, "invalid-json"),
		g("truncated JSON", chat, js, one, `{"model":"blindpass-pro","messages":[`, 400, "invalid-json"),
		g("a JSON array", chat, js, one, `[`+pro+`]`, 400, "invalid-json"),
		g("JSON null", chat, js, one, `null`, 400, "invalid-json"),
		g("model missing", chat, js, one, `{"messages":[]}`, 400, "invalid-json"),
		g("model a number", chat, js, one, `{"model":7}`, 400, "invalid-json"),
		g("stream a string", chat, js, one, `{"model":"blindpass-pro","stream":"yes"}`, 400, "invalid-json"),
		g("two JSON objects", chat, js, one, pro+pro, 400, "invalid-json"),
		g("nested 20000 deep", chat, js, one, deep, 400, "invalid-json"),
		g("unknown model", chat, js, one, `{"model":"gpt-free"}`, 404, "unknown-model"),
		g("free model name, paid model last", chat, js, nil, `{"model":"blindpass-free","model":"blindpass-pro"}`, 401, "token-required"),
		g("text/plain", chat, "text/plain", one, pro, 415, "unsupported-media-type"),
		g("two tokens for a one-token model", chat, js, [][]byte{good, m.good[2].Marshal()}, pro, 400, "too-many-tokens"),
		g("one token for a two-token model", chat, js, one, `{"model":"blindpass-max","messages":[]}`, 402, "insufficient-tokens"),
		g("a forged token", chat, js, [][]byte{mutated(good, func(b []byte) []byte { b[len(b)-1] ^= 1; return b })}, pro, 401, "token-invalid"),
		g("the spent token", chat, js, [][]byte{m.spent.Marshal()}, pro, 409, "token-already-spent"),
		// Issue 15 item 1: an exact retry is served a few times, not forever.
		g("an exact retry past the replay limit", chat, js, [][]byte{m.replayed.Marshal()}, replayedChat, 409, "replay-limit"),
		g("the replayed token with another prompt", chat, js, [][]byte{m.replayed.Marshal()}, pro, 409, "token-already-spent"),
		g("body over 1 MiB", chat, js, one, `{"model":"blindpass-pro","pad":"`+strings.Repeat("x", 1<<20)+`"}`, 413, ""),
		// What one payment buys is bounded (issue 15 item 7): refused before the token is read.
		g("n over the limit", chat, js, one, `{"model":"blindpass-pro","n":5,"messages":[]}`, 400, "parameter-limit"),
		g("max_tokens over the limit", chat, js, one, `{"model":"blindpass-pro","max_tokens":1000000,"messages":[]}`, 400, "parameter-limit"),
		g("n a string", chat, js, one, `{"model":"blindpass-pro","n":"5","messages":[]}`, 400, "invalid-parameter"),
		g("best_of over the limit", "/v1/completions", js, one, `{"model":"blindpass-pro","prompt":"x","best_of":20}`, 400, "parameter-limit"),
		g("a hundred prompts", "/v1/completions", js, one, `{"model":"blindpass-pro","prompt":[`+strings.TrimSuffix(strings.Repeat(`"p",`, 100), ",")+`]}`, 400, "parameter-limit"),
		g("a thousand inputs", "/v1/embeddings", js, one, `{"model":"blindpass-pro","input":[`+strings.TrimSuffix(strings.Repeat(`"i",`, 1000), ",")+`]}`, 400, "parameter-limit"),
		g("embeddings not JSON", "/v1/embeddings", js, one, `{`, 400, "invalid-json"),
		g("completions unknown model", "/v1/completions", js, one, `{"model":"../../admin"}`, 404, "unknown-model"),
		{name: "gateway/GET chat", target: "redeemer", method: http.MethodGet, path: chat, want: 405},
		{name: "gateway/POST models", target: "redeemer", path: "/v1/models", body: bytes.Repeat([]byte("x"), 10), want: 405},
		{name: "gateway/unknown route", target: "redeemer", path: "/v1/images/generations", header: authHeader(tokenAuth(good)), body: []byte(pro), want: 404},
		{name: "gateway/upstream path trick", target: "redeemer", path: "/v1/chat/completions/../../admin", header: authHeader(tokenAuth(good)), body: []byte(pro), want: 404},
	}
}
