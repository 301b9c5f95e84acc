package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/issuer"
)

// TestExampleConfigs loads every shipped example in deploy/config: first as
// is, where the only errors allowed are the secret files that exist only in
// a deployment; then with those files pointed at test files through the
// environment, where it must load cleanly.
func TestExampleConfigs(t *testing.T) {
	const dir = "../../deploy/config/"
	files, err := filepath.Glob(dir + "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("expected issuer, redeemer, admin, relay and plans examples, found %q", files)
	}
	if _, err := issuer.LoadPlans(dir + "plans.yaml"); err != nil {
		t.Errorf("plans example: %v", err)
	}
	for _, f := range files {
		role := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if role == "plans" {
			continue
		}
		if role == "relay" { // no secrets: it loads as shipped
			if _, err := LoadRelay(f, nil); err != nil {
				t.Errorf("relay example: %v", err)
			}
			continue
		}
		t.Run(role, func(t *testing.T) {
			s := secrets(t)
			var secretEnv Env
			var load func(Env) error
			switch role {
			case "issuer":
				secretEnv = Env{"BLINDPASS_ISSUER_KEK_FILE": s + "/kek", "BLINDPASS_ISSUER_DATABASE_URL_FILE": s + "/db_url",
					"BLINDPASS_ISSUER_PAYMENTS_PLANS_FILE":             dir + "plans.yaml",
					"BLINDPASS_ISSUER_PAYMENTS_STRIPE_SECRET_KEY_FILE": s + "/api_key", "BLINDPASS_ISSUER_PAYMENTS_STRIPE_WEBHOOK_SECRET_FILE": s + "/api_key"}
				load = func(env Env) error { _, err := LoadIssuer(f, env); return err }
			case "redeemer":
				secretEnv = Env{"BLINDPASS_REDEEMER_DATABASE_URL_FILE": s + "/db_url", "BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_0_API_KEY_FILE": s + "/api_key",
					"BLINDPASS_REDEEMER_STATS_TOKEN_FILE": s + "/stats_token"}
				load = func(env Env) error { _, err := LoadRedeemer(f, env); return err }
			case "admin":
				secretEnv = Env{"BLINDPASS_ADMIN_DATABASE_URL_FILE": s + "/db_url", "BLINDPASS_ADMIN_KEK_FILE": s + "/kek",
					"BLINDPASS_ADMIN_STATS_TOKEN_FILE": s + "/stats_token"}
				load = func(env Env) error { _, err := LoadAdmin(f, env); return err }
			default:
				t.Fatalf("%s: no role of that name; example configs are named <role>.yaml", f)
			}

			err := load(nil)
			if err == nil {
				t.Fatal("the example loads without its secret files: does it name them?")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.Contains(line, "/run/secrets/") && !strings.Contains(line, "/etc/blindpass/plans.yaml") {
					t.Errorf("unexpected error in the example: %s", line)
				}
			}
			if err := load(secretEnv); err != nil {
				t.Errorf("with its secret files present: %v", err)
			}
		})
	}
}
