package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/config"
)

// devModels are the dev flags that choose the premium models: the built-in
// mock (no flag), a models file of the redeemer's gateway schema
// (--models), or the short form for one upstream (--upstream with
// --upstream-models and --upstream-key-file).
type devModels struct {
	file     string
	upstream string
	names    string
	keyFile  string
}

func (o *devModels) register(f *pflag.FlagSet) {
	f.StringVar(&o.file, "models", "", "premium models file: the gateway section of the redeemer's configuration (upstreams, models, limits, …) instead of the mock model")
	f.StringVar(&o.upstream, "upstream", "", "OpenAI-compatible base URL to use instead of the mock model (e.g. http://127.0.0.1:11434/v1 for Ollama)")
	f.StringVar(&o.names, "upstream-models", "", "the --upstream's model for each dev model: pro=llama3.2,max=llama3.2:70b (free, pro, max), or one name for all three (default: the first model the upstream lists)")
	f.StringVar(&o.keyFile, "upstream-key-file", "", "file holding the --upstream's API key (sent as a bearer key)")
}

// devTiers are the dev models of the short form and the mock, with costs.
var devTiers = []struct {
	short string
	id    string
	cost  int
}{{"free", "blindpass-free", 0}, {"pro", "blindpass-pro", 1}, {"max", "blindpass-max", 2}}

// gatewayConfig is the dev gateway's configuration, and warnings for the
// operator (a named model the upstream does not list).
func (o devModels) gatewayConfig(ctx context.Context, mockURL string) (gateway.Config, []string, error) {
	cfg, listed, err := o.config(ctx, mockURL)
	if err != nil {
		return gateway.Config{}, nil, err
	}
	return cfg, unlistedModels(cfg.Models, listed), nil
}

// config builds the configuration; listed is what the upstream's GET
// /models answered (nil when it was not asked or did not answer).
func (o devModels) config(ctx context.Context, mockURL string) (gateway.Config, []string, error) {
	switch {
	case o.file != "" && (o.upstream != "" || o.names != "" || o.keyFile != ""):
		return gateway.Config{}, nil, errors.New("--models and --upstream… name the models twice: use one of them")
	case o.file != "":
		cfg, err := config.LoadGateway(o.file)
		return cfg, nil, err
	case o.upstream == "" && (o.names != "" || o.keyFile != ""):
		return gateway.Config{}, nil, errors.New("--upstream-models and --upstream-key-file need --upstream URL")
	case o.upstream == "":
		return gateway.DevConfig(mockURL), nil, nil
	}
	base, err := devBaseURL(o.upstream)
	if err != nil {
		return gateway.Config{}, nil, err
	}
	up := gateway.Upstream{Name: "upstream", BaseURL: base, APIKeyFile: o.keyFile}
	key := ""
	if o.keyFile != "" {
		b, err := os.ReadFile(o.keyFile)
		if err != nil {
			return gateway.Config{}, nil, fmt.Errorf("--upstream-key-file: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	listed, listErr := upstreamModelIDs(ctx, base, key)
	names := o.names
	if names == "" {
		if listErr != nil {
			return gateway.Config{}, nil, fmt.Errorf("%w; name the upstream's models with --upstream-models pro=MODEL,max=MODEL", listErr)
		}
		names = listed[0]
	}
	models, err := parseUpstreamModels(names)
	if err != nil {
		return gateway.Config{}, nil, err
	}
	cfg := gateway.Config{Upstreams: []gateway.Upstream{up}, Models: models}
	if err := cfg.Validate(); err != nil {
		return gateway.Config{}, nil, err
	}
	return cfg, listed, nil
}

// unlistedModels warns about each configured upstream model that the
// upstream's list does not name (Ollama's "name" stands for
// "name:latest"); a mistyped name would otherwise only show as failed
// chats. Nothing when the list is unknown.
func unlistedModels(models []gateway.Model, listed []string) []string {
	if len(listed) == 0 {
		return nil
	}
	var out []string
	for _, m := range models {
		if slices.Contains(listed, m.UpstreamModel) || (!strings.Contains(m.UpstreamModel, ":") && slices.Contains(listed, m.UpstreamModel+":latest")) {
			continue
		}
		shown := listed
		if len(shown) > 8 {
			shown = append(slices.Clone(shown[:8]), "…")
		}
		out = append(out, fmt.Sprintf("%s → %q: the upstream's GET /models does not list that model (it lists %s); chats with %s will fail until it does",
			m.ID, m.UpstreamModel, strings.Join(shown, ", "), m.ID))
	}
	return out
}

// devBaseURL checks an --upstream URL and completes a bare server root
// (http://127.0.0.1:11434) with "/v1".
func devBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--upstream %q: want an http(s) base URL such as http://127.0.0.1:11434/v1", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1"
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// parseUpstreamModels reads --upstream-models: "pro=llama3.2,max=x" gives
// exactly the named dev models (free, pro, max; "blindpass-pro" is also
// accepted), a single name without "=" gives all three that model.
func parseUpstreamModels(s string) ([]gateway.Model, error) {
	chosen := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, model, ok := strings.Cut(item, "=")
		if !ok {
			if strings.Contains(s, "=") || len(chosen) > 0 {
				return nil, fmt.Errorf("--upstream-models %q: give NAME=MODEL pairs or one model name", s)
			}
			for _, t := range devTiers {
				chosen[t.short] = item
			}
			continue
		}
		name = strings.TrimPrefix(strings.TrimSpace(name), "blindpass-")
		model = strings.TrimSpace(model)
		known := false
		for _, t := range devTiers {
			known = known || t.short == name
		}
		if !known || model == "" {
			return nil, fmt.Errorf("--upstream-models: %q: want free=MODEL, pro=MODEL or max=MODEL", item)
		}
		if _, dup := chosen[name]; dup {
			return nil, fmt.Errorf("--upstream-models: %s is named twice", name)
		}
		chosen[name] = model
	}
	var out []gateway.Model
	for _, t := range devTiers {
		if m, ok := chosen[t.short]; ok {
			out = append(out, gateway.Model{ID: t.id, Upstream: "upstream", UpstreamModel: m, Cost: t.cost})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--upstream-models %q names no model", s)
	}
	return out, nil
}

// upstreamModelIDs asks the upstream's GET /models (OpenAI's list; Ollama
// lists its installed models) and returns the model ids, at least one.
func upstreamModelIDs(ctx context.Context, base, key string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/models", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", gateway.UserAgent)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask %s/models which models the upstream has: %w", base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ask %s/models which models the upstream has: HTTP %d", base, resp.StatusCode)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	var ids []string
	if err := json.Unmarshal(b, &list); err == nil {
		for _, d := range list.Data {
			if d.ID != "" {
				ids = append(ids, d.ID)
			}
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s/models lists no model", base)
	}
	return ids, nil
}

// describeModels is the dev banner's list of models.
func describeModels(cfg gateway.Config) string {
	bases := map[string]string{}
	for _, u := range cfg.Upstreams {
		bases[u.Name] = u.BaseURL
	}
	var b strings.Builder
	for i, m := range cfg.Models {
		if i > 0 {
			b.WriteString("\n              ")
		}
		price := "free"
		if m.Cost == 1 {
			price = "1 token"
		} else if m.Cost > 1 {
			price = fmt.Sprintf("%d tokens", m.Cost)
		}
		fmt.Fprintf(&b, "%s (%s) → %s at %s", m.ID, price, m.UpstreamModel, bases[m.Upstream])
	}
	return b.String()
}

// chatModel is the model the banner's chat example uses: the first paid one.
func chatModel(cfg gateway.Config) string {
	for _, m := range cfg.Models {
		if m.Cost > 0 {
			return m.ID
		}
	}
	return cfg.Models[0].ID
}
