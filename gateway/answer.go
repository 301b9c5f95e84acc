package gateway

import (
	"bytes"
	"encoding/json"
)

// rewriteModel returns obj, a JSON object, with the value of its top-level
// "model" member replaced by model (a JSON string, already encoded). Every
// other byte is kept as the upstream sent it. Anything that is not a valid
// JSON object with a string "model" is returned unchanged.
func rewriteModel(obj, model []byte) []byte {
	if !bytes.Contains(obj, []byte(`"model"`)) || !json.Valid(obj) {
		return obj
	}
	// obj is valid JSON: one pass finds the top-level keys (a string at
	// depth 1 right after '{' or ',').
	depth, expectKey := 0, false
	for i := 0; i < len(obj); i++ {
		switch c := obj[i]; c {
		case '{', '[':
			depth++
			expectKey = c == '{' && depth == 1
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			end := stringEnd(obj, i)
			if expectKey && depth == 1 && string(obj[i:end]) == `"model"` {
				v := end
				for v < len(obj) && (obj[v] == ' ' || obj[v] == '\t' || obj[v] == '\n' || obj[v] == '\r' || obj[v] == ':') {
					v++
				}
				if v >= len(obj) || obj[v] != '"' {
					return obj // not a string
				}
				vend := stringEnd(obj, v)
				out := make([]byte, 0, len(obj)-(vend-v)+len(model))
				out = append(out, obj[:v]...)
				out = append(out, model...)
				return append(out, obj[vend:]...)
			}
			expectKey = false
			i = end - 1
		}
	}
	return obj
}

// stringEnd is the index just after the JSON string that starts at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// nextEvent finds the end of the first complete server-sent event in b: the
// blank line that ends it ("\n\n", "\r\n\r\n" or "\r\r"). It returns the
// length of the event with its terminator, or -1 when b holds no complete
// event yet.
func nextEvent(b []byte) int {
	best := -1
	for _, sep := range [][]byte{[]byte("\n\n"), []byte("\r\n\r\n"), []byte("\r\r")} {
		if i := bytes.Index(b, sep); i >= 0 && (best < 0 || i+len(sep) < best) {
			best = i + len(sep)
		}
	}
	return best
}

// sseEvent is one event's fields that matter to the relay.
type sseEvent struct {
	out  []byte // the event to send, "model" rewritten
	done bool   // the event is "data: [DONE]"
}

// rewriteEvent rewrites the "model" of every one-line JSON "data:" field of
// ev (a complete event with its terminator) and reports whether ev is the
// stream's end, "data: [DONE]".
func rewriteEvent(ev, model []byte) sseEvent {
	var out []byte
	done := false
	rest := ev
	for len(rest) > 0 {
		// One line with its terminator.
		n := bytes.IndexAny(rest, "\r\n")
		if n < 0 {
			n = len(rest)
		}
		line, term := rest[:n], n
		switch {
		case n+1 < len(rest) && rest[n] == '\r' && rest[n+1] == '\n':
			term = n + 2
		case n < len(rest):
			term = n + 1
		}
		if payload, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			payload = bytes.TrimPrefix(payload, []byte(" "))
			switch {
			case string(bytes.TrimSpace(payload)) == "[DONE]":
				done = true
			case len(payload) > 0 && payload[0] == '{':
				if nw := rewriteModel(payload, model); len(nw) != len(payload) || !bytes.Equal(nw, payload) {
					out = append(out, line[:len(line)-len(payload)]...)
					out = append(out, nw...)
					out = append(out, rest[n:term]...)
					rest = rest[term:]
					continue
				}
			}
		}
		out = append(out, rest[:term]...)
		rest = rest[term:]
	}
	return sseEvent{out: out, done: done}
}
