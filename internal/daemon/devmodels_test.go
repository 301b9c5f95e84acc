package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/blindpass/blindpass/protocol"
)

// namedUpstream is an OpenAI-compatible model provider that lists
// "llama3.2:latest" and records the model names and keys it receives.
type namedUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	models []string
	keys   []string
}

func newNamedUpstream(t *testing.T) *namedUpstream {
	u := &namedUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/models":
			io.WriteString(w, `{"object":"list","data":[{"id":"llama3.2:latest","object":"model"},{"id":"qwen3","object":"model"}]}`)
		case "/v1/chat/completions":
			var req struct {
				Model string `json:"model"`
			}
			_ = json.NewDecoder(r.Body).Decode(&req)
			u.mu.Lock()
			u.models = append(u.models, req.Model)
			u.keys = append(u.keys, r.Header.Get("Authorization"))
			u.mu.Unlock()
			fmt.Fprintf(w, `{"id":"c","object":"chat.completion","model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`, req.Model)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *namedUpstream) received() (models, keys []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.models), slices.Clone(u.keys)
}

// startDevWith runs `blindpassd dev` in-process with extra flags until the
// test ends and returns the issuer's and redeemer's URLs once the redeemer
// serves paid models.
func startDevWith(t *testing.T, flags ...string) (issURL, redURL string) {
	t.Helper()
	iss, red := freeAddr(t), freeAddr(t)
	args := append([]string{"dev", "--data-dir", t.TempDir(), "--issuer-addr", iss, "--redeemer-addr", red, "--admin-addr", ""}, flags...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newRoot(io.Discard, io.Discard)
	cmd.SetArgs(args)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev: %v", err)
		}
	})
	redURL = "http://" + red
	eventually(t, "dev to load the directory", func() bool {
		resp, err := http.Post(redURL+"/v1/redeem", "application/json", nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized
	})
	return "http://" + iss, redURL
}

// devTokens buys a dev order and has n tokens issued for the redeemer.
func devTokens(t *testing.T, issURL, redURL string, n int) []protocol.Token {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	h := sha256.Sum256(secret)
	body, _ := json.Marshal(map[string]string{"plan": "starter", "secret_hash": base64.RawURLEncoding.EncodeToString(h[:])})
	resp, out := send(t, "POST", issURL+"/v1/orders", "application/json", body, nil)
	var o struct {
		CheckoutURL string `json:"checkout_url"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &o) != nil {
		t.Fatalf("order: %d %s", resp.StatusCode, out)
	}
	if resp, out := send(t, "POST", o.CheckoutURL, "", nil, map[string]string{"Accept": "application/json"}); resp.StatusCode != 200 {
		t.Fatalf("dev pay: %d %s", resp.StatusCode, out)
	}
	resp, _ = send(t, "POST", redURL+"/v1/redeem", "", nil, nil)
	chs, err := protocol.ParseWWWAuthenticate(resp.Header.Get("WWW-Authenticate"))
	if err != nil || len(chs) == 0 {
		t.Fatalf("challenge: %v", err)
	}
	pub, err := protocol.ParsePublicKey(chs[0].TokenKey)
	if err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + base64.RawURLEncoding.EncodeToString(secret)}
	toks := make([]protocol.Token, n)
	for i := range toks {
		treq, st, err := protocol.NewTokenRequest(rand.Reader, pub, chs[0].TokenChallenge)
		if err != nil {
			t.Fatal(err)
		}
		resp, out := send(t, "POST", issURL+"/v1/token-request", protocol.MediaTypeTokenRequest, treq.Marshal(), bearer)
		if resp.StatusCode != 200 {
			t.Fatalf("issuance: %d %s", resp.StatusCode, out)
		}
		tr, err := protocol.ParseTokenResponse(out)
		if err != nil {
			t.Fatal(err)
		}
		if toks[i], err = st.Finalize(tr); err != nil {
			t.Fatal(err)
		}
	}
	return toks
}

// devChat asks model through the dev gateway and returns the answer's model.
func devChat(t *testing.T, redURL, model string, toks []protocol.Token) string {
	t.Helper()
	hdr := map[string]string{}
	if len(toks) > 0 {
		hdr["Authorization"] = protocol.FormatAuthorization(toks...)
	}
	resp, out := send(t, "POST", redURL+"/v1/chat/completions", "application/json",
		[]byte(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`), hdr)
	if resp.StatusCode != 200 {
		t.Fatalf("chat %s: %d %s", model, resp.StatusCode, out)
	}
	var a struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(out, &a)
	return a.Model
}

func devModelIDs(t *testing.T, redURL string) []string {
	t.Helper()
	_, body := get(t, redURL+"/v1/models")
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("models %s: %v", body, err)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	return ids
}

// TestDevRealModel: `blindpassd dev` talks to a real model provider with the
// model names the operator gives (issue 12 item 5; on the main of before
// this change dev always sent mock-pro/mock-max): the upstream's first
// listed model with --upstream alone (the README's one flag for Ollama),
// the --upstream-models short form with its key file, and a --models file
// of the redeemer's gateway schema. Answers name the public model id.
func TestDevRealModel(t *testing.T) {
	t.Run("one flag", func(t *testing.T) {
		up := newNamedUpstream(t)
		_, red := startDevWith(t, "--upstream", up.URL) // the server root: /v1 is added
		if ids := devModelIDs(t, red); !slices.Equal(ids, []string{"blindpass-free", "blindpass-pro", "blindpass-max"}) {
			t.Fatalf("models %v", ids)
		}
		if m := devChat(t, red, "blindpass-free", nil); m != "blindpass-free" {
			t.Errorf("the answer names %q", m)
		}
		if models, keys := up.received(); !slices.Equal(models, []string{"llama3.2:latest"}) || keys[0] != "" {
			t.Errorf("the upstream received models %q, keys %q", models, keys)
		}
	})

	t.Run("short form", func(t *testing.T) {
		up := newNamedUpstream(t)
		keyFile := filepath.Join(t.TempDir(), "key")
		if err := os.WriteFile(keyFile, []byte("sk-dev-operator\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		iss, red := startDevWith(t, "--upstream", up.URL+"/v1",
			"--upstream-models", "pro=llama3.2,max=llama3.2:70b", "--upstream-key-file", keyFile)
		if ids := devModelIDs(t, red); !slices.Equal(ids, []string{"blindpass-pro", "blindpass-max"}) {
			t.Fatalf("models %v", ids)
		}
		toks := devTokens(t, iss, red, 3)
		if m := devChat(t, red, "blindpass-pro", toks[:1]); m != "blindpass-pro" {
			t.Errorf("the answer names %q", m)
		}
		if m := devChat(t, red, "blindpass-max", toks[1:]); m != "blindpass-max" {
			t.Errorf("the answer names %q", m)
		}
		models, keys := up.received()
		if !slices.Equal(models, []string{"llama3.2", "llama3.2:70b"}) {
			t.Errorf("the upstream received models %q", models)
		}
		for _, k := range keys {
			if k != "Bearer sk-dev-operator" {
				t.Errorf("the upstream received key %q", k)
			}
		}
	})

	t.Run("models file", func(t *testing.T) {
		up := newNamedUpstream(t)
		file := filepath.Join(t.TempDir(), "models.yaml")
		yaml := fmt.Sprintf(`upstreams:
  - {name: local, base_url: %s/v1}
models:
  - {id: house, upstream: local, upstream_model: qwen3, cost: 0, limits: {max_output_tokens: 100}}
pass_fields: [metadata]
`, up.URL)
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, red := startDevWith(t, "--models", file)
		if ids := devModelIDs(t, red); !slices.Equal(ids, []string{"house"}) {
			t.Fatalf("models %v", ids)
		}
		if m := devChat(t, red, "house", nil); m != "house" {
			t.Errorf("the answer names %q", m)
		}
		if models, _ := up.received(); !slices.Equal(models, []string{"qwen3"}) {
			t.Errorf("the upstream received models %q", models)
		}
	})
}

// TestDevModelFlagsRefused: contradictory or malformed model flags stop dev
// with a message naming the flag.
func TestDevModelFlagsRefused(t *testing.T) {
	up := newNamedUpstream(t)
	silent := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(silent.Close)
	badFile := filepath.Join(t.TempDir(), "models.yaml")
	if err := os.WriteFile(badFile, []byte("models:\n  - {id: x, upstream: nope, upstream_model: y, cost: 1}\nflavour: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		flags []string
		want  string
	}{
		{[]string{"--models", badFile, "--upstream", up.URL}, "--models and --upstream"},
		{[]string{"--upstream-models", "pro=x"}, "need --upstream"},
		{[]string{"--upstream", up.URL, "--upstream-models", "turbo=x"}, "turbo=x"},
		{[]string{"--upstream", up.URL, "--upstream-models", "pro=a,pro=b"}, "named twice"},
		{[]string{"--upstream", "ftp://x"}, "--upstream"},
		{[]string{"--upstream", silent.URL}, "--upstream-models"},
		{[]string{"--models", badFile}, "unknown key \"flavour\""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
			args := append([]string{"dev", "--data-dir", t.TempDir(), "--issuer-addr", freeAddr(t), "--redeemer-addr", freeAddr(t), "--admin-addr", ""}, tc.flags...)
			cmd := newRoot(io.Discard, io.Discard)
			cmd.SetArgs(args)
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("dev %v: %v, want an error naming %q", tc.flags, err, tc.want)
			}
		})
	}
}

// A named model the upstream does not list is a warning at start (a typo
// otherwise showed only as failed chats); Ollama's bare names match
// "name:latest", and an upstream that lists nothing gives no warning.
func TestUnlistedModels(t *testing.T) {
	models, err := parseUpstreamModels("free=qwen3,pro=llama3.2,max=fake-bigg")
	if err != nil {
		t.Fatal(err)
	}
	got := unlistedModels(models, []string{"llama3.2:latest", "qwen3"})
	if len(got) != 1 || !strings.Contains(got[0], `"fake-bigg"`) || !strings.Contains(got[0], "blindpass-max") || !strings.Contains(got[0], "qwen3") {
		t.Fatalf("warnings %q, want one naming blindpass-max, fake-bigg and what is listed", got)
	}
	if got := unlistedModels(models, nil); got != nil {
		t.Fatalf("warnings without a list: %q", got)
	}
}
