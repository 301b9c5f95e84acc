package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const redeemerYAML = `issuer_url: http://issuer:8700
issuer_name: issuer.example
origins: [chat.example]
database:
  url_file: $S/db_url
gateway:
  upstreams:
    - name: main
      base_url: https://models.example/v1
      api_key_file: $S/api_key
  models:
    - {id: pro, upstream: main, upstream_model: big, cost: 1}
`

func TestLoadRedeemer(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     Env
		wantErr []string
		check   func(t *testing.T, c *Redeemer)
	}{
		{
			name: "file with gateway",
			yaml: redeemerYAML,
			check: func(t *testing.T, c *Redeemer) {
				if c.Listen != DefaultRedeemerListen || c.ShutdownTimeout != 60*time.Second {
					t.Errorf("server = %+v", c.Server)
				}
				if !c.GatewayEnabled() || c.Gateway.Upstreams[0].APIKeyFile == "" || c.Gateway.Models[0].Cost != 1 {
					t.Errorf("gateway = %+v", c.Gateway)
				}
				if c.Gateway.Upstreams[0].APIKey != "" {
					t.Error("the config must not read the API key into the gateway config; gateway.New does")
				}
			},
		},
		{
			name: "no gateway: redemption only",
			yaml: "issuer_url: http://issuer:8700\norigins: [chat.example]\ndatabase: {data_dir: /var/lib/bp}\n",
			check: func(t *testing.T, c *Redeemer) {
				if c.GatewayEnabled() || c.Database.DataDir != "/var/lib/bp" || c.Database.URL != "" {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name:    "unknown key inside a gateway list element",
			yaml:    redeemerYAML + "    - {id: max, upstream: main, upstream_model: big, price: 2}\n",
			wantErr: []string{`line 13: unknown key "price"`},
		},
		{
			name:    "missing fields",
			yaml:    "gateway:\n  models: [{id: pro, upstream: nowhere, upstream_model: x, cost: 99}]\n",
			wantErr: []string{"issuer_url: required", "origins: required", "database: required", `gateway.models[0].upstream: unknown upstream "nowhere"`, "gateway.models[0].cost: 99 is outside"},
		},
		{
			name:    "API key file not found",
			yaml:    strings.Replace(redeemerYAML, "$S/api_key", "$S/missing_key", 1),
			wantErr: []string{"gateway.upstreams[0].api_key_file:", "no such file"},
		},
		{
			name:    "API key file empty",
			yaml:    strings.Replace(redeemerYAML, "$S/api_key", "$S/empty", 1),
			wantErr: []string{"gateway.upstreams[0].api_key_file:", "is empty"},
		},
		{
			name: "stats token",
			yaml: redeemerYAML + "stats_token_file: $S/stats_token\n",
			check: func(t *testing.T, c *Redeemer) {
				if c.StatsToken != "0123456789abcdef0123456789abcdef" {
					t.Errorf("stats token %q", c.StatsToken)
				}
			},
		},
		{
			name:    "stats token too short",
			yaml:    redeemerYAML + "stats_token_file: $S/short_token\n",
			wantErr: []string{"stats_token_file:", "at least 32"},
		},
		{
			name:    "bad origin",
			yaml:    strings.Replace(redeemerYAML, "[chat.example]", `["a,b"]`, 1),
			wantErr: []string{`origins[0]: "a,b"`},
		},
		{
			name: "web origins (CORS): file and environment, canonical",
			yaml: redeemerYAML + "web_origins: [\"https://Chat.Example/\"]\n",
			check: func(t *testing.T, c *Redeemer) {
				if !slices.Equal(c.WebOrigins, []string{"https://chat.example"}) {
					t.Errorf("web_origins = %q", c.WebOrigins)
				}
			},
		},
		{
			name:    "web origins: a wildcard, a path, a bare host are refused",
			yaml:    redeemerYAML + "web_origins: [\"*\", \"https://chat.example/app\", chat.example]\n",
			wantErr: []string{"web_origins[0]:", "web_origins[1]:", "no path", "web_origins[2]:"},
		},
		{
			name: "web origins from the environment",
			yaml: redeemerYAML,
			env:  Env{"BLINDPASS_REDEEMER_WEB_ORIGINS": "https://chat.example,http://127.0.0.1:8703"},
			check: func(t *testing.T, c *Redeemer) {
				if !slices.Equal(c.WebOrigins, []string{"https://chat.example", "http://127.0.0.1:8703"}) {
					t.Errorf("web_origins = %q", c.WebOrigins)
				}
			},
		},
		{
			name: "environment: string list, indexed element field, appended element, whole list",
			yaml: redeemerYAML,
			env: Env{
				"BLINDPASS_REDEEMER_ORIGINS":                          "chat.example, api.example",
				"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_0_BASE_URL":     "http://ollama:11434/v1",
				"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_0_API_KEY_FILE": "$S/api_key",
				"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_1_NAME":         "second",
				"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_1_BASE_URL":     "http://second:8080/v1",
				"BLINDPASS_REDEEMER_GATEWAY_MODELS":                   `[{"id": "free", "upstream": "second", "upstream_model": "small", "cost": 0}]`,
				"BLINDPASS_REDEEMER_GATEWAY_MODELS_1_ID":              "pro",
				"BLINDPASS_REDEEMER_GATEWAY_MODELS_1_UPSTREAM":        "main",
				"BLINDPASS_REDEEMER_GATEWAY_MODELS_1_UPSTREAM_MODEL":  "big",
				"BLINDPASS_REDEEMER_GATEWAY_MODELS_1_COST":            "2",
				"BLINDPASS_REDEEMER_GATEWAY_UPSTREAM_TIMEOUT":         "90s",
				"BLINDPASS_REDEEMER_REPLAY_WINDOW":                    "10m",
			},
			check: func(t *testing.T, c *Redeemer) {
				if !slices.Equal(c.Origins, []string{"chat.example", "api.example"}) {
					t.Errorf("origins = %q", c.Origins)
				}
				up := c.Gateway.Upstreams
				if len(up) != 2 || up[0].Name != "main" || up[0].BaseURL != "http://ollama:11434/v1" || up[1].Name != "second" || up[1].BaseURL != "http://second:8080/v1" {
					t.Errorf("upstreams = %+v", up)
				}
				m := c.Gateway.Models
				if len(m) != 2 || m[0].ID != "free" || m[0].Upstream != "second" || m[1].ID != "pro" || m[1].Cost != 2 {
					t.Errorf("models = %+v", m)
				}
				if c.Gateway.UpstreamTimeout != 90*time.Second || c.ReplayWindow != 10*time.Minute {
					t.Errorf("durations: %s %s", c.Gateway.UpstreamTimeout, c.ReplayWindow)
				}
			},
		},
		{
			name: "environment: pass_fields and a model's limits",
			yaml: redeemerYAML,
			env: Env{
				"BLINDPASS_REDEEMER_GATEWAY_PASS_FIELDS":                "metadata",
				"BLINDPASS_REDEEMER_GATEWAY_MODELS_0_LIMITS_MAX_N":      "2",
				"BLINDPASS_REDEEMER_GATEWAY_MODELS_0_LIMITS_CAP_FIELD":  "max_completion_tokens",
				"BLINDPASS_REDEEMER_GATEWAY_MODELS_0_LIMITS_MAX_INPUTS": "-1",
			},
			check: func(t *testing.T, c *Redeemer) {
				l := c.Gateway.Models[0].Limits
				if !slices.Equal(c.Gateway.PassFields, []string{"metadata"}) || l.MaxN != 2 || l.CapField != "max_completion_tokens" || l.MaxInputs != -1 {
					t.Errorf("pass_fields %q, limits %+v", c.Gateway.PassFields, l)
				}
			},
		},
		{
			name:    "environment: a limit that is no limit",
			yaml:    redeemerYAML,
			env:     Env{"BLINDPASS_REDEEMER_GATEWAY_MODELS_0_LIMITS_MAX_N": "-5"},
			wantErr: []string{"gateway.models[0].limits.max_n"},
		},
		{
			name:    "environment: index past the end",
			yaml:    redeemerYAML,
			env:     Env{"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_5_NAME": "x"},
			wantErr: []string{"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_5_", "has 1 elements"},
		},
		{
			name:    "environment: unknown field of an element",
			yaml:    redeemerYAML,
			env:     Env{"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_0_KEY": "x"},
			wantErr: []string{"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_0_KEY names no redeemer setting"},
		},
		{
			name:    "environment: a list of maps that is not YAML",
			yaml:    redeemerYAML,
			env:     Env{"BLINDPASS_REDEEMER_GATEWAY_MODELS": "[{"},
			wantErr: []string{"BLINDPASS_REDEEMER_GATEWAY_MODELS (gateway.models)"},
		},
		{
			name:    "environment: the API key itself cannot be given",
			yaml:    redeemerYAML,
			env:     Env{"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_0_API_KEY": "sk-live"},
			wantErr: []string{"BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_0_API_KEY names no redeemer setting"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := secrets(t)
			env := Env{}
			for k, v := range tt.env {
				env[k] = expand(v, dir)
			}
			path := write(t, t.TempDir(), "redeemer.yaml", expand(tt.yaml, dir))
			c, err := LoadRedeemer(path, env)
			checkResult(t, err, tt.wantErr)
			if err == nil && tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestLoadAdmin(t *testing.T) {
	const adminYAML = "public_url: https://admin.example\nkek_file: $S/kek\nredeemer_url: http://redeemer:8701\nstats_token_file: $S/stats_token\ndatabase: {url_file: $S/db_url}\n"
	tests := []struct {
		name    string
		yaml    string
		env     Env
		wantErr []string
	}{
		{name: "complete", yaml: adminYAML, env: Env{"BLINDPASS_ADMIN_METRICS_ADDR": ":9702"}},
		{name: "without redeemer statistics", yaml: "public_url: https://admin.example\nkek_file: $S/kek\ndatabase: {data_dir: /tmp/x}\n"},
		{
			name:    "missing fields",
			yaml:    "redeemer_url: redeemer:8701\n",
			wantErr: []string{"public_url: required", "kek_file: required", "redeemer_url: redeemer_url and stats_token_file go together", "database: required"},
		},
		{
			name:    "stats token too short",
			yaml:    strings.Replace(adminYAML, "$S/stats_token", "$S/short_token", 1),
			wantErr: []string{"stats_token_file:", "holds 10 characters; at least 32"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := secrets(t)
			c, err := LoadAdmin(write(t, t.TempDir(), "admin.yaml", expand(tt.yaml, dir)), tt.env)
			checkResult(t, err, tt.wantErr)
			if err == nil && (len(c.KEK) == 0 || c.Listen != DefaultAdminListen || (c.RedeemerURL != "" && len(c.StatsToken) != 32)) {
				t.Errorf("config = %+v", c)
			}
		})
	}
}

// TestEnvNames pins the naming scheme and checks that every field has a
// distinct variable that applyEnv recognises.
func TestEnvNames(t *testing.T) {
	roles := []struct {
		role string
		cfg  any
		want []string
	}{
		{"issuer", &Issuer{}, []string{"BLINDPASS_ISSUER_PAYMENTS_STRIPE_WEBHOOK_SECRET_FILE", "BLINDPASS_ISSUER_LISTEN", "BLINDPASS_ISSUER_METRICS_ADDR", "BLINDPASS_ISSUER_PUBLIC_URL", "BLINDPASS_ISSUER_KEK_FILE", "BLINDPASS_ISSUER_KEYS_ISSUE_PERIOD", "BLINDPASS_ISSUER_DATABASE_URL_FILE", "BLINDPASS_ISSUER_LOG_LEVEL"}},
		{"redeemer", &Redeemer{}, []string{"BLINDPASS_REDEEMER_ORIGINS", "BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS", "BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_<i>_API_KEY_FILE", "BLINDPASS_REDEEMER_GATEWAY_MODELS_<i>_COST", "BLINDPASS_REDEEMER_GATEWAY_FIRST_BYTE_TIMEOUT"}},
		{"admin", &Admin{}, []string{"BLINDPASS_ADMIN_PUBLIC_URL", "BLINDPASS_ADMIN_REDEEMER_URL", "BLINDPASS_ADMIN_STATS_TOKEN_FILE", "BLINDPASS_ADMIN_DATABASE_DATA_DIR"}},
	}
	for _, r := range roles {
		names := envNames(r.role, r.cfg)
		for _, w := range r.want {
			if !slices.Contains(names, w) {
				t.Errorf("%s: no variable %s in %q", r.role, w, names)
			}
		}
		seen := map[string]bool{}
		env := Env{}
		for _, n := range names {
			if seen[n] {
				t.Errorf("%s: two fields share the variable %s", r.role, n)
			}
			seen[n] = true
			env[strings.ReplaceAll(n, "<i>", "0")] = "x"
		}
		err := applyEnv(r.role, env, r.cfg)
		if err != nil && strings.Contains(err.Error(), "names no") {
			t.Errorf("%s: a listed variable is not recognised: %v", r.role, err)
		}
	}
}
