package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/issuer/keys"
)

// secrets writes the secret files the test configurations name and returns
// their directory.
func secrets(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := keys.CreateKEK(filepath.Join(dir, "kek")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "db_url", "postgres://blindpass@db:5432/blindpass\n")
	write(t, dir, "api_key", "sk-test\n")
	write(t, dir, "empty", "  \n")
	write(t, dir, "stats_token", "0123456789abcdef0123456789abcdef\n")
	write(t, dir, "short_token", "0123456789\n")
	write(t, dir, "plans.yaml", "plans:\n  - {id: starter, name: Starter, kind: pack, tokens: 100, price: 500, currency: eur, stripe_price: price_1}\n")
	write(t, dir, "bad_plans.yaml", "plans:\n  - {id: Starter!, kind: pack}\n")
	return dir
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// expand replaces $S with the secrets directory.
func expand(s, dir string) string { return strings.ReplaceAll(s, "$S", dir) }

const issuerYAML = `listen: 127.0.0.1:8700
public_url: https://issuer.example
kek_file: $S/kek
database:
  url_file: $S/db_url
`

func TestLoadIssuer(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     Env
		wantErr []string // substrings of the error; none = success
		check   func(t *testing.T, c *Issuer)
	}{
		{
			name: "minimal file, defaults filled, secrets read",
			yaml: issuerYAML,
			check: func(t *testing.T, c *Issuer) {
				if c.Listen != "127.0.0.1:8700" || c.MetricsAddr != "" || c.ShutdownTimeout != 30*time.Second {
					t.Errorf("server = %+v", c.Server)
				}
				if c.Database.URL != "postgres://blindpass@db:5432/blindpass" {
					t.Errorf("database URL = %q", c.Database.URL)
				}
				if len(c.KEK) != keys.KEKSize {
					t.Errorf("KEK has %d bytes", len(c.KEK))
				}
				if c.Log.Format != "json" || c.Log.Level != "info" {
					t.Errorf("log = %+v", c.Log)
				}
				if c.Keys.Policy() != keys.DefaultPolicy() {
					t.Errorf("policy = %+v", c.Keys.Policy())
				}
			},
		},
		{
			name: "web origins (CORS) from file and environment",
			yaml: issuerYAML + "web_origins: [https://chat.example]\n",
			env:  Env{"BLINDPASS_ISSUER_WEB_ORIGINS": "https://chat.example,https://app.example:8443"},
			check: func(t *testing.T, c *Issuer) {
				if len(c.WebOrigins) != 2 || c.WebOrigins[1] != "https://app.example:8443" {
					t.Errorf("web_origins = %q", c.WebOrigins)
				}
			},
		},
		{
			name:    "web origin with a path",
			yaml:    issuerYAML + "web_origins: [https://chat.example/buy]\n",
			wantErr: []string{"web_origins[0]:", "no path"},
		},
		{
			name:    "unknown top-level key names the key and the line",
			yaml:    "listen: :8700\npublik_url: https://issuer.example\n",
			wantErr: []string{`line 2: unknown key "publik_url"`},
		},
		{
			name:    "unknown nested key",
			yaml:    issuerYAML + "keys:\n  lead: 1h\n  grace: 2h\n",
			wantErr: []string{`line 8: unknown key "grace"`},
		},
		{
			name:    "wrong type names the line",
			yaml:    issuerYAML + "max_batch: lots\n",
			wantErr: []string{"line 6", "lots"},
		},
		{
			name:    "bad duration",
			yaml:    issuerYAML + "shutdown_timeout: soon\n",
			wantErr: []string{"line 6", "soon"},
		},
		{
			name: "payments: stripe with its secret files and plans",
			yaml: issuerYAML + "payments:\n  provider: stripe\n  plans_file: $S/plans.yaml\n  stripe:\n    success_url: https://x.example/ok\n    cancel_url: https://x.example/no\n    secret_key_file: $S/api_key\n    webhook_secret_file: $S/api_key\n",
			check: func(t *testing.T, c *Issuer) {
				if c.Payments.Provider != PaymentsStripe || c.Payments.Stripe.SecretKeyFile == "" {
					t.Errorf("payments = %+v", c.Payments)
				}
			},
		},
		{
			name: "payments default to vouchers only",
			yaml: issuerYAML,
			check: func(t *testing.T, c *Issuer) {
				if c.Payments.Provider != PaymentsNone {
					t.Errorf("provider = %q", c.Payments.Provider)
				}
			},
		},
		{
			name:    "payments: stripe without its settings",
			yaml:    issuerYAML + "payments: {provider: stripe}\n",
			wantErr: []string{"payments.stripe.success_url: required", "payments.stripe.cancel_url: required", "payments.stripe.secret_key_file: required", "payments.stripe.webhook_secret_file: required"},
		},
		{
			name:    "payments: stripe secret file missing",
			yaml:    issuerYAML + "payments:\n  provider: stripe\n  stripe: {success_url: https://x.example/ok, cancel_url: https://x.example/no, secret_key_file: $S/nope, webhook_secret_file: $S/api_key}\n",
			wantErr: []string{"payments.stripe.secret_key_file:", "no such file"},
		},
		{
			name:    "payments: dev checkout refused and a bad plans file",
			yaml:    issuerYAML + "payments: {provider: dev, plans_file: $S/bad_plans.yaml}\n",
			wantErr: []string{`payments.provider: "dev" checkout is free`, "payments.plans_file:"},
		},
		{
			name: "payments: the environment turns a file's Stripe off",
			yaml: issuerYAML + "payments:\n  provider: stripe\n  stripe: {success_url: https://x.example/ok, secret_key_file: /nonexistent}\n",
			env:  Env{"BLINDPASS_ISSUER_PAYMENTS_PROVIDER": "none"},
			check: func(t *testing.T, c *Issuer) {
				if c.Payments.Provider != PaymentsNone {
					t.Errorf("provider %q", c.Payments.Provider)
				}
			},
		},
		{
			name:    "a key given twice",
			yaml:    issuerYAML + "public_url: https://other.example\n",
			wantErr: []string{`line 6: mapping key "public_url" already defined at line 2`},
		},
		{
			name:    "empty file",
			yaml:    "",
			wantErr: []string{"empty"},
		},
		{
			name:    "two documents",
			yaml:    issuerYAML + "---\nlisten: :1\n",
			wantErr: []string{"more than one YAML document"},
		},
		{
			name:    "missing required fields are each named",
			yaml:    "listen: :8700\n",
			wantErr: []string{"public_url: required", "kek_file: required", "database: required"},
		},
		{
			name:    "KEK file not found",
			yaml:    strings.Replace(issuerYAML, "$S/kek", "$S/nope", 1),
			wantErr: []string{"kek_file:", "no such file"},
		},
		{
			name:    "database URL file not found",
			yaml:    strings.Replace(issuerYAML, "$S/db_url", "$S/nope", 1),
			wantErr: []string{"database.url_file:", "no such file"},
		},
		{
			name:    "database URL file empty",
			yaml:    strings.Replace(issuerYAML, "$S/db_url", "$S/empty", 1),
			wantErr: []string{"database.url_file:", "is empty"},
		},
		{
			name:    "database URL file holds something else",
			yaml:    strings.Replace(issuerYAML, "$S/db_url", "$S/api_key", 1),
			wantErr: []string{"database.url_file:", "postgres://"},
		},
		{
			name:    "Postgres and SQLite at once",
			yaml:    issuerYAML + "  data_dir: /var/lib/blindpass\n",
			wantErr: []string{"database: set url_file"},
		},
		{
			name:    "bad values are named",
			yaml:    strings.Replace(issuerYAML, "https://issuer.example", "ftp://x", 1) + "max_batch: -1\nmetrics_addr: nope\nlog:\n  format: xml\n  level: loud\nkeys:\n  lead: 2000h\n",
			wantErr: []string{"public_url:", "max_batch:", "metrics_addr:", "log.format:", "log.level:", "keys: keys: policy: Lead"},
		},
		{
			name: "environment overrides the file",
			yaml: issuerYAML,
			env: Env{
				"BLINDPASS_ISSUER_PUBLIC_URL":       "https://tokens.example",
				"BLINDPASS_ISSUER_LISTEN":           "0.0.0.0:9000",
				"BLINDPASS_ISSUER_METRICS_ADDR":     "127.0.0.1:9700",
				"BLINDPASS_ISSUER_MAX_BATCH":        "50",
				"BLINDPASS_ISSUER_KEYS_LEAD":        "72h",
				"BLINDPASS_ISSUER_SHUTDOWN_TIMEOUT": "5s",
				"BLINDPASS_ISSUER_LOG_FORMAT":       "text",
				"BLINDPASS_ISSUER_NAME":             "",               // empty: ignored
				"BLINDPASS_REDEEMER_NOT_MINE":       "x",              // another role's
				"BLINDPASS_DATABASE_URL":            "postgres://x/y", // a flag default, not config
			},
			check: func(t *testing.T, c *Issuer) {
				if c.PublicURL != "https://tokens.example" || c.Listen != "0.0.0.0:9000" || c.MetricsAddr != "127.0.0.1:9700" ||
					c.MaxBatch != 50 || c.Keys.Lead != 72*time.Hour || c.ShutdownTimeout != 5*time.Second || c.Log.Format != "text" || c.Name != "" {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name:    "environment can point a secret at a missing file",
			yaml:    issuerYAML,
			env:     Env{"BLINDPASS_ISSUER_KEK_FILE": "/nonexistent/kek"},
			wantErr: []string{"kek_file:", "/nonexistent/kek"},
		},
		{
			name:    "unknown environment variable is an error",
			yaml:    issuerYAML,
			env:     Env{"BLINDPASS_ISSUER_PUBLICURL": "https://x.example"},
			wantErr: []string{"BLINDPASS_ISSUER_PUBLICURL names no issuer setting"},
		},
		{
			name:    "unparseable environment value names the variable and the field",
			yaml:    issuerYAML,
			env:     Env{"BLINDPASS_ISSUER_MAX_BATCH": "many", "BLINDPASS_ISSUER_KEYS_LEAD": "2 days"},
			wantErr: []string{"BLINDPASS_ISSUER_MAX_BATCH (max_batch): not an integer", "BLINDPASS_ISSUER_KEYS_LEAD (keys.lead): not a duration"},
		},
		{
			name: "secret values are not configuration keys",
			yaml: issuerYAML + "kek: c2VjcmV0\n",
			// KEK is filled from kek_file only.
			wantErr: []string{`unknown key "kek"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := secrets(t)
			path := write(t, t.TempDir(), "issuer.yaml", expand(tt.yaml, dir))
			c, err := LoadIssuer(path, tt.env)
			checkResult(t, err, tt.wantErr)
			if err == nil && tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func checkResult(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error; want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
}

func TestLoadIssuerFileNotFound(t *testing.T) {
	_, err := LoadIssuer(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	checkResult(t, err, []string{"missing.yaml", "no such file"})
	_, err = LoadIssuer("", nil)
	checkResult(t, err, []string{"no issuer configuration file"})
}

func TestRelayConfigRejects(t *testing.T) {
	for name, c := range map[string]Relay{
		"no gateway":        {},
		"not a URL":         {Gateways: []string{"redeemer.example"}},
		"query":             {Gateways: []string{"https://r.example/x?y=1"}},
		"same host twice":   {Gateways: []string{"https://r.example/a", "https://r.example/b"}},
		"negative limit":    {Gateways: []string{"https://r.example/a"}, MaxConcurrent: -1},
		"negative duration": {Gateways: []string{"https://r.example/a"}, KeyCache: -time.Second},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := Relay{Gateways: []string{"https://r.example/.well-known/ohttp-gateway"}}
	if err := ok.Validate(); err != nil || ok.MaxConcurrent != 256 || ok.KeyCache != 5*time.Minute {
		t.Fatalf("%v %+v", err, ok)
	}
}

func TestOHTTPSection(t *testing.T) {
	o := OHTTP{KeysFile: "/x/keys.json"}
	if err := CheckOHTTP(&o); err == nil {
		t.Fatal("keys_file without a KEK accepted")
	}
	o = OHTTP{KEKFile: "/x/kek"}
	if err := CheckOHTTP(&o); err == nil {
		t.Fatal("kek_file without keys_file accepted")
	}
}
