package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Defaults applied by (*Config).setDefaults when a field is zero.
const (
	DefaultMaxRequestBody   int64 = 1 << 20  // 1 MiB
	DefaultMaxResponseBody  int64 = 16 << 20 // 16 MiB
	DefaultUpstreamTimeout        = 5 * time.Minute
	DefaultFirstByteTimeout       = 2 * time.Minute
)

// MaxCost is the largest number of tokens one request may cost; it bounds
// the size of the Authorization header a client must send.
const MaxCost = 32

// Config configures the gateway. Zero sizes and timeouts take the defaults.
type Config struct {
	Upstreams []Upstream `json:"upstreams" yaml:"upstreams"`
	Models    []Model    `json:"models" yaml:"models"`
	// MaxRequestBody limits the client's request body (413 beyond it).
	MaxRequestBody int64 `json:"max_request_body,omitempty" yaml:"max_request_body,omitempty"`
	// MaxResponseBody limits what is relayed from the upstream.
	MaxResponseBody int64 `json:"max_response_body,omitempty" yaml:"max_response_body,omitempty"`
	// UpstreamTimeout bounds a whole upstream call, streaming included.
	UpstreamTimeout time.Duration `json:"upstream_timeout,omitempty" yaml:"upstream_timeout,omitempty"`
	// FirstByteTimeout bounds the wait for the upstream's response headers;
	// it defaults to min(DefaultFirstByteTimeout, UpstreamTimeout).
	FirstByteTimeout time.Duration `json:"first_byte_timeout,omitempty" yaml:"first_byte_timeout,omitempty"`
	// PassFields names request fields of StrippedFields that are passed to
	// the upstream anyway (for example [metadata]); by default every one of
	// them is removed.
	PassFields []string `json:"pass_fields,omitempty" yaml:"pass_fields,omitempty"`
}

// StrippedFields are the request body members that identify or tag an end
// user at the model provider (OpenAI's "user", "safety_identifier",
// "prompt_cache_key" and "metadata"); the gateway removes them from every
// request unless Config.PassFields names them.
var StrippedFields = []string{"user", "safety_identifier", "prompt_cache_key", "metadata"}

// Default per-model limits (see Limits).
const (
	DefaultMaxOutputTokens = 4096
	DefaultMaxN            = 1
	DefaultMaxBestOf       = 1
	DefaultMaxPrompts      = 1
	DefaultMaxInputs       = 16
)

// Limits bound, per model, the request parameters that drive the upstream's
// cost, since every request of a model costs the same number of tokens. A
// request over a limit is refused (400 "parameter-limit", param names the
// field) before any token is looked at. Zero takes the default; -1 lifts
// the limit.
type Limits struct {
	// MaxOutputTokens caps "max_tokens" and "max_completion_tokens" on
	// /v1/chat/completions and "max_tokens" on /v1/completions (default
	// 4096). A request that sets neither gets the cap added in
	// CapField, so the answer's length is bounded too.
	MaxOutputTokens int `json:"max_output_tokens,omitempty" yaml:"max_output_tokens,omitempty"`
	// CapField is the field added on /v1/chat/completions when a request
	// names no cap: "max_tokens" (default; OpenAI, Ollama, vLLM, llama.cpp)
	// or "max_completion_tokens" (OpenAI's reasoning models refuse
	// max_tokens). /v1/completions always gets "max_tokens".
	CapField string `json:"cap_field,omitempty" yaml:"cap_field,omitempty"`
	// MaxN caps "n", the number of choices (default 1).
	MaxN int `json:"max_n,omitempty" yaml:"max_n,omitempty"`
	// MaxBestOf caps "best_of" of /v1/completions (default 1).
	MaxBestOf int `json:"max_best_of,omitempty" yaml:"max_best_of,omitempty"`
	// MaxPrompts caps the prompts of one /v1/completions request (a list
	// of prompts is answered once each; default 1).
	MaxPrompts int `json:"max_prompts,omitempty" yaml:"max_prompts,omitempty"`
	// MaxInputs caps the inputs of one /v1/embeddings request (default 16).
	MaxInputs int `json:"max_inputs,omitempty" yaml:"max_inputs,omitempty"`
}

// resolved is l with defaults applied; 0 means no limit.
func (l Limits) resolved() Limits {
	pick := func(v, def int) int {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	r := Limits{
		MaxOutputTokens: pick(l.MaxOutputTokens, DefaultMaxOutputTokens),
		CapField:        l.CapField,
		MaxN:            pick(l.MaxN, DefaultMaxN),
		MaxBestOf:       pick(l.MaxBestOf, DefaultMaxBestOf),
		MaxPrompts:      pick(l.MaxPrompts, DefaultMaxPrompts),
		MaxInputs:       pick(l.MaxInputs, DefaultMaxInputs),
	}
	if r.CapField == "" {
		r.CapField = "max_tokens"
	}
	return r
}

func (l Limits) check(bad func(string, ...any), f string) {
	for name, v := range map[string]int{"max_output_tokens": l.MaxOutputTokens, "max_n": l.MaxN,
		"max_best_of": l.MaxBestOf, "max_prompts": l.MaxPrompts, "max_inputs": l.MaxInputs} {
		if v < -1 {
			bad("%s.limits.%s: %d; use a positive limit, 0 for the default or -1 for none", f, name, v)
		}
	}
	switch l.CapField {
	case "", "max_tokens", "max_completion_tokens":
	default:
		bad("%s.limits.cap_field: %q is not max_tokens or max_completion_tokens", f, l.CapField)
	}
}

// Upstream is an OpenAI-compatible server.
type Upstream struct {
	Name string `json:"name" yaml:"name"`
	// BaseURL is the OpenAI-style base URL, "/v1" included (for example
	// https://api.openai.com/v1 or http://127.0.0.1:11434/v1); the gateway
	// appends "/chat/completions", "/completions" or "/embeddings".
	BaseURL string `json:"base_url" yaml:"base_url"`
	// APIKeyFile holds the operator's API key for this upstream (surrounding
	// white space is ignored); empty for upstreams that need no key.
	APIKeyFile string `json:"api_key_file,omitempty" yaml:"api_key_file,omitempty"`
	// APIKey is filled from APIKeyFile by New, or set directly (tests, dev
	// mode). It is never read from a config file.
	APIKey string `json:"-" yaml:"-"`
}

// Model is what clients ask for in the "model" field.
type Model struct {
	ID            string `json:"id" yaml:"id"`
	Upstream      string `json:"upstream" yaml:"upstream"`
	UpstreamModel string `json:"upstream_model" yaml:"upstream_model"`
	// Cost is the number of tokens per request; 0 is a free model.
	Cost int `json:"cost" yaml:"cost"`
	// Limits bound the request parameters that drive cost.
	Limits Limits `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// Validate checks the configuration; each message names the field.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	upstreams := make(map[string]bool, len(c.Upstreams))
	for i, u := range c.Upstreams {
		f := fmt.Sprintf("upstreams[%d]", i)
		switch {
		case u.Name == "":
			bad("%s.name: required", f)
		case upstreams[u.Name]:
			bad("%s.name: duplicate upstream %q", f, u.Name)
		}
		upstreams[u.Name] = true
		if err := checkBaseURL(u.BaseURL); err != nil {
			bad("%s.base_url: %w", f, err)
		}
		if u.APIKeyFile != "" && u.APIKey != "" {
			bad("%s.api_key_file: set while the API key is also given directly", f)
		}
	}

	models := make(map[string]bool, len(c.Models))
	for i, m := range c.Models {
		f := fmt.Sprintf("models[%d]", i)
		switch {
		case m.ID == "":
			bad("%s.id: required", f)
		case models[m.ID]:
			bad("%s.id: duplicate model %q", f, m.ID)
		}
		models[m.ID] = true
		if !upstreams[m.Upstream] {
			bad("%s.upstream: unknown upstream %q", f, m.Upstream)
		}
		if m.UpstreamModel == "" {
			bad("%s.upstream_model: required", f)
		}
		if m.Cost < 0 || m.Cost > MaxCost {
			bad("%s.cost: %d is outside 0..%d", f, m.Cost, MaxCost)
		}
		m.Limits.check(bad, f)
	}
	for i, name := range c.PassFields {
		if !slices.Contains(StrippedFields, name) {
			bad("pass_fields[%d]: %q is not one of the stripped fields %s", i, name, strings.Join(StrippedFields, ", "))
		}
	}
	if len(c.Models) == 0 {
		bad("models: at least one model is required")
	}

	if c.MaxRequestBody < 0 {
		bad("max_request_body: negative")
	}
	if c.MaxResponseBody < 0 {
		bad("max_response_body: negative")
	}
	if c.UpstreamTimeout < 0 {
		bad("upstream_timeout: negative")
	}
	if c.FirstByteTimeout < 0 {
		bad("first_byte_timeout: negative")
	}
	if c.UpstreamTimeout > 0 && c.FirstByteTimeout > c.UpstreamTimeout {
		bad("first_byte_timeout: longer than upstream_timeout")
	}
	return errors.Join(errs...)
}

func checkBaseURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("must not carry a query, fragment or user info")
	}
	return nil
}

// setDefaults fills zero sizes and timeouts.
func (c *Config) setDefaults() {
	if c.MaxRequestBody == 0 {
		c.MaxRequestBody = DefaultMaxRequestBody
	}
	if c.MaxResponseBody == 0 {
		c.MaxResponseBody = DefaultMaxResponseBody
	}
	if c.UpstreamTimeout == 0 {
		c.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if c.FirstByteTimeout == 0 {
		c.FirstByteTimeout = min(DefaultFirstByteTimeout, c.UpstreamTimeout)
	}
}

// loadKeys reads every APIKeyFile into APIKey.
func (c *Config) loadKeys() error {
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		if u.APIKeyFile == "" {
			continue
		}
		b, err := os.ReadFile(u.APIKeyFile)
		if err != nil {
			return fmt.Errorf("upstreams[%d].api_key_file: %w", i, err)
		}
		u.APIKey = strings.TrimSpace(string(b))
		if u.APIKey == "" {
			return fmt.Errorf("upstreams[%d].api_key_file: %s is empty", i, u.APIKeyFile)
		}
	}
	return nil
}

// DevConfig is the configuration of `blindpassd dev`: the in-process mock
// model (internal/mockmodel) at mockBaseURL, which is the mock's OpenAI base
// URL; a server root without "/v1" is accepted and completed. Models:
// "blindpass-free" (cost 0), "blindpass-pro" (cost 1 -> mock-pro) and
// "blindpass-max" (cost 2 -> mock-max).
func DevConfig(mockBaseURL string) Config {
	base := strings.TrimSuffix(mockBaseURL, "/")
	if !strings.HasSuffix(base, "/v1") {
		base += "/v1"
	}
	return Config{
		Upstreams: []Upstream{{Name: "mock", BaseURL: base}},
		Models: []Model{
			{ID: "blindpass-free", Upstream: "mock", UpstreamModel: "mock-pro", Cost: 0},
			{ID: "blindpass-pro", Upstream: "mock", UpstreamModel: "mock-pro", Cost: 1},
			{ID: "blindpass-max", Upstream: "mock", UpstreamModel: "mock-max", Cost: 2},
		},
	}
}
