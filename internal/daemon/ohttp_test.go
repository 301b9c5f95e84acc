package daemon

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestOHTTPKeysCommand(t *testing.T) {
	dir := t.TempDir()
	kek := filepath.Join(dir, "kek")
	if code := Main([]string{"keys", "create-kek", kek}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("create-kek: exit %d", code)
	}
	keysFile := filepath.Join(dir, "ohttp.json")
	run := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := Main(append([]string{"ohttp-keys"}, args...), &out, &out)
		return code, out.String()
	}
	if code, out := run("list", "--keys-file", keysFile, "--kek-file", kek); code != 1 || !strings.Contains(out, "no OHTTP keyring") {
		t.Fatalf("list before any key: %d %q", code, out)
	}
	for range 3 {
		if code, out := run("rotate", "--keys-file", keysFile, "--kek-file", kek); code != 0 || !strings.Contains(out, "new OHTTP key") {
			t.Fatalf("rotate: %d %q", code, out)
		}
	}
	code, out := run("list", "--keys-file", keysFile, "--kek-file", kek)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "current") || !strings.Contains(out, "previous") {
		t.Fatalf("list: %d %q", code, out)
	}
	other := filepath.Join(dir, "other-kek")
	Main([]string{"keys", "create-kek", other}, io.Discard, io.Discard)
	if code, out := run("list", "--keys-file", keysFile, "--kek-file", other); code != 1 || !strings.Contains(out, "cannot be opened") {
		t.Fatalf("list under another KEK: %d %q", code, out)
	}
	var stderr bytes.Buffer
	if code := Main([]string{"relay"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "--gateway") {
		t.Fatalf("relay without a gateway: %d %q", code, stderr.String())
	}
}
