package deploy

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blindpass/blindpass/internal/pgtest"
	"github.com/blindpass/blindpass/internal/store/postgres"
)

// TestComposeDatabaseBootstrap runs the compose file's Postgres init script
// against a fresh server, migrates as the owner it makes (which may not
// create roles: the script made them), and checks that each login user
// has its role's rights and no more.
func TestComposeDatabaseBootstrap(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed")
	}
	cluster := pgtest.Start(t)
	admin, err := url.Parse(cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir()
	for _, name := range []string{"db_owner_password", "issuer_db_password", "redeemer_db_password", "admin_db_password"} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte("pw-"+name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", "compose/initdb/10-blindpass.sh")
	cmd.Env = append(os.Environ(), "SECRETS_DIR="+secrets, "POSTGRES_USER=postgres",
		"PGHOST="+admin.Hostname(), "PGPORT="+admin.Port(), "PGPASSWORD=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init script: %v\n%s", err, out)
	}

	userURL := func(user string) string {
		u := *admin
		u.User = url.UserPassword(user, "pw")
		u.Path = "/blindpass"
		return u.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	owner, err := postgres.Open(ctx, userURL("blindpass_owner"))
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Migrate(ctx); err != nil {
		t.Fatalf("migrate as the owner: %v", err)
	}
	owner.Close()

	tests := []struct {
		user, query string
		allowed     bool
	}{
		{"issuer_app", "SELECT count(*) FROM orders", true},
		{"issuer_app", "SELECT count(*) FROM spent_tokens", false},
		{"redeemer_app", "SELECT count(*) FROM spent_tokens", true},
		{"redeemer_app", "SELECT count(*) FROM orders", false},
		{"redeemer_app", "SELECT count(*) FROM keys", false},
		{"admin_app", "SELECT count(id) FROM orders", true},
		{"admin_app", "SELECT count(secret_hash) FROM orders", false},
		{"admin_app", "CREATE TABLE x (i int)", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s", tt.user, tt.query), func(t *testing.T) {
			conn, err := pgx.Connect(ctx, userURL(tt.user))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, tt.query)
			switch {
			case tt.allowed && err != nil:
				t.Errorf("refused: %v", err)
			case !tt.allowed && err == nil:
				t.Error("allowed")
			case !tt.allowed && !strings.Contains(err.Error(), "permission denied"):
				t.Errorf("refused for another reason: %v", err)
			}
		})
	}
}
