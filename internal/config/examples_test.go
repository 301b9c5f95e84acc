package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfigs loads every shipped example in deploy/config: first as
// is, where the only errors allowed are the secret files that exist only in
// a deployment; then with those files pointed at test files through the
// environment, where it must load cleanly.
func TestExampleConfigs(t *testing.T) {
	files, err := filepath.Glob("../../deploy/config/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("expected the issuer, redeemer and admin examples, found %q", files)
	}
	for _, f := range files {
		role := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(role, func(t *testing.T) {
			dir := secrets(t)
			var secretEnv Env
			var load func(Env) error
			switch role {
			case "issuer":
				secretEnv = Env{"BLINDPASS_ISSUER_KEK_FILE": dir + "/kek", "BLINDPASS_ISSUER_DATABASE_URL_FILE": dir + "/db_url"}
				load = func(env Env) error { _, err := LoadIssuer(f, env); return err }
			case "redeemer":
				secretEnv = Env{"BLINDPASS_REDEEMER_DATABASE_URL_FILE": dir + "/db_url", "BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_0_API_KEY_FILE": dir + "/api_key"}
				load = func(env Env) error { _, err := LoadRedeemer(f, env); return err }
			case "admin":
				secretEnv = Env{"BLINDPASS_ADMIN_DATABASE_URL_FILE": dir + "/db_url"}
				load = func(env Env) error { _, err := LoadAdmin(f, env); return err }
			default:
				t.Fatalf("%s: no role of that name; example configs are named <role>.yaml", f)
			}

			err := load(nil)
			if err == nil {
				t.Fatal("the example loads without its secret files: does it name them?")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.Contains(line, "/run/secrets/") {
					t.Errorf("unexpected error in the example: %s", line)
				}
			}
			if err := load(secretEnv); err != nil {
				t.Errorf("with its secret files present: %v", err)
			}
		})
	}
}
