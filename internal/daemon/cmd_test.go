package daemon

import (
	"bytes"
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
