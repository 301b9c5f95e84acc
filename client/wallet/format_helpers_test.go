package wallet

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// header is an age file cut into its text header lines (up to and including
// the "---" MAC line) and the binary rest (nonce and payload).
type header struct {
	lines []string
	rest  []byte
}

func splitHeader(t *testing.T, raw []byte) header {
	t.Helper()
	i := bytes.Index(raw, []byte("\n--- "))
	if i < 0 {
		t.Fatalf("no header MAC line in %.60q", raw)
	}
	j := bytes.IndexByte(raw[i+1:], '\n')
	if j < 0 {
		t.Fatal("header MAC line not terminated")
	}
	end := i + 1 + j
	return header{lines: strings.Split(string(raw[:end]), "\n"), rest: bytes.Clone(raw[end+1:])}
}

func (h header) bytes() []byte {
	return append([]byte(strings.Join(h.lines, "\n")+"\n"), h.rest...)
}

// stanza returns the index of the "-> typ ..." line and of its body lines.
func (h header) stanza(t *testing.T, typ string) (head int, body []int) {
	t.Helper()
	head = -1
	for i, l := range h.lines {
		switch {
		case strings.HasPrefix(l, "-> "+typ+" ") || l == "-> "+typ:
			head = i
		case head >= 0 && (strings.HasPrefix(l, "-> ") || strings.HasPrefix(l, "--- ")):
			return head, body
		case head >= 0:
			body = append(body, i)
		}
	}
	t.Fatalf("no %s stanza in header %q", typ, h.lines)
	return 0, nil
}

// stanzaBody is the text of the body lines of the stanza of type typ.
func (h header) stanzaBody(t *testing.T, typ string) string {
	t.Helper()
	_, body := h.stanza(t, typ)
	var b strings.Builder
	for _, i := range body {
		b.WriteString(h.lines[i] + "\n")
	}
	return b.String()
}

// stanzaTypes lists the header's stanza types in order.
func (h header) stanzaTypes() []string {
	var out []string
	for _, l := range h.lines {
		if rest, ok := strings.CutPrefix(l, "-> "); ok {
			out = append(out, strings.Fields(rest)[0])
		}
	}
	return out
}

// flipBase64 replaces the character at i (negative: from the end) of a
// base64 line with another base64 character.
func flipBase64(line string, i int) string {
	if i < 0 {
		i += len(line)
	}
	c := byte('A')
	if line[i] == 'A' {
		c = 'B'
	}
	return line[:i] + string(c) + line[i+1:]
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
