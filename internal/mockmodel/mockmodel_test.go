package mockmodel_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/internal/mockmodel"
)

func post(t *testing.T, srv *httptest.Server, path, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decodeJSON(t *testing.T, r io.Reader) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// events reads an SSE body into its data payloads.
func events(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNonStreaming(t *testing.T) {
	srv := httptest.NewServer(mockmodel.Handler())
	defer srv.Close()
	tests := []struct {
		name, path, body string
		status           int
		check            func(t *testing.T, v map[string]any)
	}{
		{"chat", "/v1/chat/completions",
			`{"model":"mock-pro","messages":[{"role":"system","content":"be nice"},{"role":"user","content":"hello  there"},{"role":"assistant","content":"x"}]}`,
			200, func(t *testing.T, v map[string]any) {
				msg := v["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
				if got, want := msg["content"], "Hello from mock-pro. You wrote 2 words: hello there"; got != want {
					t.Errorf("content = %q, want %q", got, want)
				}
				if v["object"] != "chat.completion" || v["model"] != "mock-pro" {
					t.Errorf("object/model = %v/%v", v["object"], v["model"])
				}
			}},
		{"chat content parts", "/v1/chat/completions",
			`{"model":"mock-max","messages":[{"role":"user","content":[{"type":"text","text":"a b"},{"type":"image_url","image_url":{"url":"x"}}]}]}`,
			200, func(t *testing.T, v map[string]any) {
				msg := v["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
				if got, want := msg["content"], "Hello from mock-max. You wrote 2 words: a b"; got != want {
					t.Errorf("content = %q, want %q", got, want)
				}
			}},
		{"completion", "/v1/completions", `{"model":"mock-pro","prompt":"once upon"}`,
			200, func(t *testing.T, v map[string]any) {
				c := v["choices"].([]any)[0].(map[string]any)
				if got, want := c["text"], "Hello from mock-pro. You wrote 2 words: once upon"; got != want {
					t.Errorf("text = %q, want %q", got, want)
				}
			}},
		{"embeddings", "/v1/embeddings", `{"model":"mock-pro","input":["a","b"]}`,
			200, func(t *testing.T, v map[string]any) {
				data := v["data"].([]any)
				if len(data) != 2 {
					t.Fatalf("%d embeddings, want 2", len(data))
				}
				e := data[1].(map[string]any)["embedding"].([]any)
				want := mockmodel.Embed("mock-pro", "b")
				if len(e) != len(want) || e[0].(float64) != want[0] {
					t.Errorf("embedding = %v, want %v", e, want)
				}
			}},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-4","messages":[{"role":"user","content":"x"}]}`,
			404, func(t *testing.T, v map[string]any) {
				if v["error"].(map[string]any)["code"] != "model_not_found" {
					t.Errorf("error = %v", v["error"])
				}
			}},
		{"bad json", "/v1/completions", `{"model":`, 400, nil},
		{"bad embedding input", "/v1/embeddings", `{"model":"mock-pro","input":[1,2]}`, 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, srv, tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			v := decodeJSON(t, resp.Body)
			if tc.check != nil {
				tc.check(t, v)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	srv := httptest.NewServer(mockmodel.Handler())
	defer srv.Close()
	body := `{"model":"mock-max","messages":[{"role":"user","content":"same question"}]}`
	a, _ := io.ReadAll(post(t, srv, "/v1/chat/completions", body).Body)
	b, _ := io.ReadAll(post(t, srv, "/v1/chat/completions", body).Body)
	if string(a) != string(b) {
		t.Errorf("two answers differ:\n%s\n%s", a, b)
	}
}

func TestStreaming(t *testing.T) {
	srv := httptest.NewServer(mockmodel.Handler())
	defer srv.Close()
	tests := []struct {
		name, path, body string
		text             func(v map[string]any) string
	}{
		{"chat", "/v1/chat/completions",
			`{"model":"mock-pro","stream":true,"messages":[{"role":"user","content":"tell me a long story please"}]}`,
			func(v map[string]any) string {
				s, _ := v["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)["content"].(string)
				return s
			}},
		{"completion", "/v1/completions", `{"model":"mock-max","stream":true,"prompt":"tell me a long story please"}`,
			func(v map[string]any) string {
				s, _ := v["choices"].([]any)[0].(map[string]any)["text"].(string)
				return s
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, srv, tc.path, tc.body)
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("Content-Type = %q", ct)
			}
			evs := events(t, resp.Body)
			if len(evs) < 4 || evs[len(evs)-1] != "[DONE]" {
				t.Fatalf("events = %q, want several ending in [DONE]", evs)
			}
			var text strings.Builder
			for _, e := range evs[:len(evs)-1] {
				var v map[string]any
				if err := json.Unmarshal([]byte(e), &v); err != nil {
					t.Fatalf("event %q: %v", e, err)
				}
				text.WriteString(tc.text(v))
			}
			if !strings.HasSuffix(text.String(), "You wrote 6 words: tell me a long story please") {
				t.Errorf("streamed text = %q", text.String())
			}
		})
	}
}

func TestModels(t *testing.T) {
	srv := httptest.NewServer(mockmodel.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Object string
		Data   []struct{ ID string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range list.Data {
		ids = append(ids, d.ID)
	}
	if list.Object != "list" || !reflect.DeepEqual(ids, mockmodel.Models) {
		t.Errorf("models = %q %v", list.Object, ids)
	}
}
