package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportImport moves a wallet to a second one, plain and encrypted, and
// spends from the copy.
func TestExportImport(t *testing.T) {
	a := newUser(t)
	a.buy("10")
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		exportEnv map[string]string
		args      []string
		importEnv map[string]string
		encrypted bool
	}{
		{"plain", nil, nil, nil, false},
		{"encrypted", map[string]string{envNewPassphrase: "moving day"}, []string{"--encrypt"}, map[string]string{envFilePassphrase: "moving day"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name+".wallet")
			a.env = tc.exportEnv
			a.must(append([]string{"wallet", "export", file}, tc.args...)...)
			st, err := os.Stat(file)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("export file: %v %v", st, err)
			}
			data, _ := os.ReadFile(file)
			if got := bytes.HasPrefix(data, []byte("age-encryption.org/v1")); got != tc.encrypted {
				t.Fatalf("export encrypted = %v, want %v", got, tc.encrypted)
			}

			b := newUser(t)
			if tc.encrypted {
				// Without the passphrase the import fails and says how to give it.
				if r := b.run("wallet", "import", file); r.code != ExitError || !strings.Contains(r.stderr, envFilePassphrase) {
					t.Fatalf("import without passphrase: exit %d\n%s", r.code, r.stderr)
				}
			}
			b.env = tc.importEnv
			if r := b.must("wallet", "import", file); !strings.Contains(r.stdout, "Imported 10 new tokens and 1 new order.") {
				t.Fatalf("import: %s", r.stdout)
			}
			if r := b.must("wallet", "import", file); !strings.Contains(r.stdout, "Imported 0 new tokens and 0 new orders") {
				t.Fatalf("import twice: %s", r.stdout)
			}
			if b.tokens() != 10 {
				t.Fatalf("imported wallet holds %d tokens", b.tokens())
			}
			b.must("chat", "--redeemer", theWorld.RedeemerURL, "--model", "blindpass-pro", "from the copy")
			if b.tokens() != 9 {
				t.Fatalf("after a chat from the copy: %d tokens", b.tokens())
			}
		})
	}
	// To stdout.
	a.env = nil
	if r := a.must("wallet", "export", "-"); !strings.Contains(r.stdout, `"tokens"`) {
		t.Fatalf("export to stdout: %.200s", r.stdout)
	}
}

// TestEncryptedWallet: encrypt, use with the passphrase, refuse without it,
// remove the encryption.
func TestEncryptedWallet(t *testing.T) {
	u := newUser(t)
	u.buy("3")
	u.env[envNewPassphrase] = "correct horse"
	u.must("wallet", "encrypt")
	delete(u.env, envNewPassphrase)
	data, err := os.ReadFile(u.wallet)
	if err != nil || !bytes.HasPrefix(data, []byte("age-encryption.org/v1")) {
		t.Fatalf("wallet not encrypted: %.40q %v", data, err)
	}
	r := u.run("wallet", "balance")
	if r.code != ExitError || !strings.Contains(r.stderr, "set BLINDPASS_PASSPHRASE") {
		t.Fatalf("without passphrase: exit %d\n%s", r.code, r.stderr)
	}
	u.env[envPassphrase] = "wrong"
	if r := u.run("wallet", "balance"); r.code != ExitError || !strings.Contains(r.stderr, "wrong passphrase") {
		t.Fatalf("wrong passphrase: exit %d\n%s", r.code, r.stderr)
	}
	u.env[envPassphrase] = "correct horse"
	if got := u.tokens(); got != 3 {
		t.Fatalf("encrypted wallet holds %d tokens", got)
	}
	u.must("chat", "--model", "blindpass-pro", "secretly")
	// The export of an encrypted wallet is encrypted with its passphrase.
	file := filepath.Join(t.TempDir(), "e.wallet")
	u.must("wallet", "export", file)
	if data, _ := os.ReadFile(file); !bytes.HasPrefix(data, []byte("age-encryption.org/v1")) {
		t.Fatal("export of an encrypted wallet is plain")
	}
	u.must("wallet", "encrypt", "--remove")
	delete(u.env, envPassphrase)
	if got := u.tokens(); got != 2 {
		t.Fatalf("after removing the encryption: %d tokens", got)
	}
}

// TestBalance shows tokens per key with expiry, and the orders.
func TestBalance(t *testing.T) {
	u := newUser(t)
	if r := u.must("wallet", "balance"); !strings.Contains(r.stdout, "0 tokens") || !strings.Contains(r.stdout, "blindpass buy") {
		t.Fatalf("empty balance: %s", r.stdout)
	}
	u.buy("4")
	r := u.must("wallet", "balance", "--credit")
	for _, want := range []string{"4 tokens", "USABLE UNTIL", "1 order or voucher:", "96 (paid)", theWorld.IssuerURL} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("balance lacks %q:\n%s", want, r.stdout)
		}
	}
}
