package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testdb"
)

// run runs a blindpassd command to completion and returns its output.
func run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin(t, "blindpassd"), args...)
	cmd.Env = append(os.Environ(), "BLINDPASS_DATABASE_URL=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("blindpassd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestProductionRolesOnPostgres runs the roles as separate processes, as in
// production: migrate, then issuer and redeemer against one database, and
// the operator's keys commands.
func TestProductionRolesOnPostgres(t *testing.T) {
	dbURL := testdb.New(t)
	dir := t.TempDir()
	kek := filepath.Join(dir, "kek")
	run(t, "keys", "create-kek", kek)
	run(t, "migrate", "--database-url", dbURL)
	if out := run(t, "migrate", "--database-url", dbURL); !strings.Contains(out, "migrated") {
		t.Fatalf("second migrate (a no-op) said %q", out)
	}

	issuerAddr, redeemerAddr := freeAddr(t), freeAddr(t)
	issuerURL := "http://" + issuerAddr
	startProcess(t, nil, "issuer", "--database-url", dbURL, "--kek-file", kek, "--addr", issuerAddr, "--public-url", issuerURL)
	waitFor(t, "the issuer directory", func() bool {
		resp, err := http.Get(issuerURL + "/.well-known/private-token-issuer-directory")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	startProcess(t, nil, "redeemer", "--database-url", dbURL, "--addr", redeemerAddr, "--issuer-url", issuerURL, "--origin", "chat.example")
	redeemerURL := "http://" + redeemerAddr
	waitFor(t, "the redeemer to load the directory", func() bool {
		resp, err := http.Post(redeemerURL+"/v1/redeem", "", nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized
	})
	ch := redeemerChallenge(t, redeemerURL)
	if got := ch.TokenChallenge.OriginInfo; len(got) != 1 || got[0] != "chat.example" {
		t.Fatalf("challenge origin_info %v", got)
	}
	issuerKey(t, issuerURL, ch) // the challenge names a key the issuer lists

	list := run(t, "keys", "list", "--database-url", dbURL, "--kek-file", kek)
	if strings.Count(list, "issuing") != 1 {
		t.Fatalf("keys list before rotation:\n%s", list)
	}
	if out := run(t, "keys", "rotate", "--database-url", dbURL, "--kek-file", kek); !strings.Contains(out, "epoch 2") {
		t.Fatalf("keys rotate said %q", out)
	}
	list = run(t, "keys", "list", "--database-url", dbURL, "--kek-file", kek)
	if strings.Count(list, "issuing") != 1 || !strings.Contains(list, "redeem-only") {
		t.Fatalf("keys list after rotation:\n%s", list)
	}
}
