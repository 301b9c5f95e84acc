package daemon

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoleCommandErrors: a role refuses to start, with the exit code and a
// message naming what to fix, when its configuration is wrong.
func TestRoleCommandErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	typo := write("typo.yaml", "listen: 127.0.0.1:0\npublik_url: https://issuer.example\n")
	noKEK := write("nokek.yaml", "public_url: https://issuer.example\nkek_file: "+filepath.Join(dir, "missing-kek")+"\ndatabase: {data_dir: "+dir+"}\n")
	red := write("redeemer.yaml", "issuer_url: http://127.0.0.1:1\norigins: [chat.example]\ndatabase: {data_dir: "+dir+"}\n")

	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown key", []string{"issuer", "--config", typo}, 1, []string{"typo.yaml", `line 2: unknown key "publik_url"`}},
		{"secret file missing", []string{"issuer", "--config", noKEK}, 1, []string{"kek_file:", "missing-kek"}},
		{"config file missing", []string{"redeemer", "--config", filepath.Join(dir, "nope.yaml")}, 1, []string{"nope.yaml", "no such file"}},
		{"flags with --config", []string{"redeemer", "--config", red, "--addr", "127.0.0.1:0", "--origin", "x"}, 2, []string{"--addr, --origin cannot be used with --config"}},
		{"no config, missing flags", []string{"issuer", "--data-dir", dir}, 2, []string{"--public-url is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// TestOperatorCommands covers the helpers the container images need:
// probe (no curl in distroless), keys copy-kek (Kubernetes Secret files are
// group-readable) and --database-url-file (no secret on a command line).
func TestOperatorCommands(t *testing.T) {
	dir := t.TempDir()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer ok.Close()
	kek := filepath.Join(dir, "kek")
	if code := Main([]string{"keys", "create-kek", kek}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("create-kek: exit %d", code)
	}
	shared := filepath.Join(dir, "kek-0440")
	b, _ := os.ReadFile(kek)
	os.WriteFile(shared, b, 0o440)
	urlFile := filepath.Join(dir, "db_url")
	os.WriteFile(urlFile, []byte("postgres://nobody@127.0.0.1:1/none?connect_timeout=1\n"), 0o600)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"probe ready", []string{"probe", ok.URL + "/readyz"}, 0, ""},
		{"probe not ready", []string{"probe", ok.URL + "/other"}, 1, "503"},
		{"probe unreachable", []string{"probe", "--timeout", "1s", "http://" + freeAddr(t) + "/readyz"}, 1, "refused"},
		{"probe bad URL", []string{"probe", "ftp://x"}, 2, "not an http(s) URL"},
		{"copy-kek", []string{"keys", "copy-kek", shared, filepath.Join(dir, "private")}, 0, "mode 0600"},
		{"copy-kek never overwrites", []string{"keys", "copy-kek", shared, kek}, 1, "never overwrites"},
		{"keys list with a group-readable key fails", []string{"keys", "list", "--data-dir", dir, "--kek-file", shared}, 1, "group or others"},
		{"keys list with the copied key", []string{"keys", "list", "--data-dir", dir, "--kek-file", filepath.Join(dir, "private")}, 0, ""},
		{"database URL from a file", []string{"migrate", "--database-url-file", urlFile}, 1, "127.0.0.1:1"},
		{"database URL file missing", []string{"migrate", "--database-url-file", filepath.Join(dir, "nope")}, 1, "--database-url-file"},
		{"database URL twice", []string{"migrate", "--database-url-file", urlFile, "--database-url", "postgres://x/y"}, 2, "both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := Main(tt.args, io.Discard, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tt.code, stderr.String(), tt.want)
			}
		})
	}
	if st, err := os.Stat(filepath.Join(dir, "private")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("copied key: %v, mode %v", err, st.Mode())
	}
}
