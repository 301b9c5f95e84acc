package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/mockmodel"
)

func TestValidate(t *testing.T) {
	good := func() gateway.Config { return testConfig("http://127.0.0.1:1") }
	tests := []struct {
		name string
		edit func(c *gateway.Config)
		want string // substring of the error; "" = valid
	}{
		{"good", func(*gateway.Config) {}, ""},
		{"dev config", func(c *gateway.Config) { *c = gateway.DevConfig("http://127.0.0.1:9") }, ""},
		{"no models", func(c *gateway.Config) { c.Models = nil }, "models:"},
		{"unnamed upstream", func(c *gateway.Config) { c.Upstreams[0].Name = "" }, "upstreams[0].name"},
		{"duplicate upstream", func(c *gateway.Config) { c.Upstreams = append(c.Upstreams, c.Upstreams[0]) }, "upstreams[1].name"},
		{"relative base url", func(c *gateway.Config) { c.Upstreams[0].BaseURL = "/v1" }, "upstreams[0].base_url"},
		{"ftp base url", func(c *gateway.Config) { c.Upstreams[0].BaseURL = "ftp://x/v1" }, "upstreams[0].base_url"},
		{"base url with query", func(c *gateway.Config) { c.Upstreams[0].BaseURL = "http://x/v1?k=1" }, "upstreams[0].base_url"},
		{"key twice", func(c *gateway.Config) { c.Upstreams[0].APIKeyFile = "/k" }, "upstreams[0].api_key_file"},
		{"model without id", func(c *gateway.Config) { c.Models[1].ID = "" }, "models[1].id"},
		{"duplicate model", func(c *gateway.Config) { c.Models[2].ID = "pro" }, "models[2].id"},
		{"unknown upstream", func(c *gateway.Config) { c.Models[0].Upstream = "nope" }, "models[0].upstream"},
		{"no upstream model", func(c *gateway.Config) { c.Models[0].UpstreamModel = "" }, "models[0].upstream_model"},
		{"negative cost", func(c *gateway.Config) { c.Models[0].Cost = -1 }, "models[0].cost"},
		{"huge cost", func(c *gateway.Config) { c.Models[0].Cost = gateway.MaxCost + 1 }, "models[0].cost"},
		{"negative body limit", func(c *gateway.Config) { c.MaxRequestBody = -1 }, "max_request_body"},
		{"pass a stripped field", func(c *gateway.Config) { c.PassFields = []string{"metadata", "user"} }, ""},
		{"pass another field", func(c *gateway.Config) { c.PassFields = []string{"messages"} }, "pass_fields[0]"},
		{"limits lifted", func(c *gateway.Config) { c.Models[0].Limits = gateway.Limits{MaxN: -1, MaxOutputTokens: -1} }, ""},
		{"limit below -1", func(c *gateway.Config) { c.Models[1].Limits.MaxInputs = -2 }, "models[1].limits.max_inputs"},
		{"unknown cap field", func(c *gateway.Config) { c.Models[2].Limits.CapField = "max_output_tokens" }, "models[2].limits.cap_field"},
		{"first byte after end", func(c *gateway.Config) {
			c.UpstreamTimeout = 10
			c.FirstByteTimeout = 20
		}, "first_byte_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// TestConfigDecodes: the snake_case names a config file uses.
func TestConfigDecodes(t *testing.T) {
	var c gateway.Config
	err := json.Unmarshal([]byte(`{"upstreams":[{"name":"ollama","base_url":"http://127.0.0.1:11434/v1","api_key_file":"/run/k"}],
		"models":[{"id":"pro","upstream":"ollama","upstream_model":"llama3","cost":1}],"max_request_body":10}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Upstreams[0].BaseURL != "http://127.0.0.1:11434/v1" || c.Upstreams[0].APIKeyFile != "/run/k" ||
		c.Models[0].UpstreamModel != "llama3" || c.Models[0].Cost != 1 || c.MaxRequestBody != 10 {
		t.Errorf("decoded %+v", c)
	}
	// The key itself is never read from a file's body.
	_ = json.Unmarshal([]byte(`{"upstreams":[{"name":"x","APIKey":"leak","api_key":"leak"}]}`), &c)
	if c.Upstreams[0].APIKey != "" {
		t.Errorf("APIKey decoded from config: %q", c.Upstreams[0].APIKey)
	}
}

// TestAPIKeyFile: the key is read from its file and sent as a bearer key.
func TestAPIKeyFile(t *testing.T) {
	up := newUpstream(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("sk-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(up.URL)
	cfg.Upstreams[0].APIKey = ""
	cfg.Upstreams[0].APIKeyFile = keyFile
	gw := startGateway(t, cfg, nil2(), nil)
	resp, err := http.Post(gw.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("free", "k", false)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := up.last(t).Header.Get("Authorization"); got != "Bearer sk-from-file" {
		t.Errorf("Authorization = %q", got)
	}

	cfg.Upstreams[0].APIKeyFile = filepath.Join(dir, "missing")
	if _, err := gateway.New(cfg, nil2(), nil); err == nil || !strings.Contains(err.Error(), "api_key_file") {
		t.Errorf("New with a missing key file: %v", err)
	}
}

// nil2 is a gateway.Spender that must not be used: configs with paid
// models need a real one (New refuses nil).
func nil2() gateway.Spender { return noSpender{} }

func TestNewNeedsSpenderForPaidModels(t *testing.T) {
	if _, err := gateway.New(testConfig("http://127.0.0.1:1"), nil, nil); err == nil {
		t.Error("New accepted paid models without a spender")
	}
	cfg := testConfig("http://127.0.0.1:1")
	cfg.Models = cfg.Models[:1] // free only
	if _, err := gateway.New(cfg, nil, nil); err != nil {
		t.Errorf("New with free models only: %v", err)
	}
}

func TestModelList(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := http.Get(e.gw.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Created int64  `json:"created"`
			OwnedBy string `json:"owned_by"`
			Cost    *int   `json:"cost"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"free": 0, "pro": 1, "max": 2}
	if list.Object != "list" || len(list.Data) != len(want) {
		t.Fatalf("list = %+v", list)
	}
	for _, m := range list.Data {
		if m.Object != "model" || m.OwnedBy != "blindpass" || m.Created <= 0 || m.Cost == nil || *m.Cost != want[m.ID] {
			t.Errorf("model entry %+v", m)
		}
	}
}

// TestDevConfigWithMockModel: the dev setup end to end, the mock model
// behind the gateway with a real redeemer, streaming and not.
func TestDevConfigWithMockModel(t *testing.T) {
	mock := httptest.NewServer(mockmodel.Handler())
	t.Cleanup(mock.Close)
	red := newRedeemer(t)
	e := &env{red: red, gw: startGateway(t, gateway.DevConfig(mock.URL), red, nil)}
	tests := []struct {
		model  string
		cost   int
		stream bool
		want   string
	}{
		{"blindpass-free", 0, false, "Hello from mock-pro. You wrote 2 words: hi there"},
		{"blindpass-pro", 1, false, "Hello from mock-pro. You wrote 2 words: hi there"},
		{"blindpass-max", 2, false, "Hello from mock-max. You wrote 2 words: hi there"},
		{"blindpass-max", 2, true, "data: [DONE]"},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			resp := e.call(t, context.Background(), "/v1/chat/completions", chatBody(tc.model, "hi there", tc.stream), mint(t, red, tc.cost), nil)
			body := readAll(t, resp)
			if resp.StatusCode != 200 || !strings.Contains(body, tc.want) {
				t.Errorf("status %d, body %s; want %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}
