package wallet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileModes(t *testing.T) {
	path := tempWallet(t)
	w := openTest(t, path, nil)
	if _, err := os.Stat(path); !isNotExist(err) {
		t.Fatalf("Open created the file before any change: %v", err)
	}
	if err := w.AddOrder(Order{IssuerURL: "http://issuer.test", Secret: "s1", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{path, 0o600},
		{path + ".lock", 0o600},
		{filepath.Dir(path), 0o700},
	} {
		if got := fileMode(t, c.path); got != c.want {
			t.Errorf("mode of %s = %o, want %o", c.path, got, c.want)
		}
	}

	// A wallet someone made world-readable is 0600 again after a save.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	mustPut(t, w, fakeTokens(1, "issuer.test", randBytes(32), time.Time{}))
	if got := fileMode(t, path); got != 0o600 {
		t.Errorf("mode after save = %o, want 600", got)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/tmp/cfg-home")
	p, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/tmp/cfg-home/blindpass/wallet.json"; p != want {
		t.Fatalf("DefaultPath = %q, want %q", p, want)
	}
}

// TestCrashDuringSave simulates a save that dies while writing: the old
// wallet must survive intact and no temporary file may be left behind.
func TestCrashDuringSave(t *testing.T) {
	errDisk := errors.New("disk full")
	for _, c := range []struct {
		name  string
		write func(f *os.File, data []byte) error
	}{
		{"nothing written", func(*os.File, []byte) error { return errDisk }},
		{"half written", func(f *os.File, data []byte) error {
			_, _ = f.Write(data[:len(data)/2])
			return errDisk
		}},
		{"all written then error", func(f *os.File, data []byte) error {
			_, _ = f.Write(data)
			return errDisk
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, pass := range [][]byte{nil, []byte("pw")} {
				path := tempWallet(t)
				w := openTest(t, path, pass)
				before := fakeTokens(5, "issuer.test", randBytes(32), time.Time{})
				mustPut(t, w, before)
				orig, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}

				w.writeFile = c.write
				_, err = w.Put(fakeTokens(3, "issuer.test", randBytes(32), time.Time{}))
				if !errors.Is(err, errDisk) {
					t.Fatalf("Put with a failing write: %v, want %v", err, errDisk)
				}
				if _, err := w.Take(2, Filter{}); !errors.Is(err, errDisk) {
					t.Fatalf("Take with a failing write: %v, want %v", err, errDisk)
				}

				now, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(orig, now) {
					t.Fatal("the wallet file changed after failed saves")
				}
				entries, _ := os.ReadDir(filepath.Dir(path))
				for _, e := range entries {
					if strings.Contains(e.Name(), ".tmp-") {
						t.Errorf("temporary file left behind: %s", e.Name())
					}
				}
				fresh := openTest(t, path, pass)
				if got := tokenSet(t, fresh); len(got) != len(before) {
					t.Fatalf("after the crash the wallet has %d tokens, want %d", len(got), len(before))
				}
			}
		})
	}
}

func TestUpdateErrorLeavesFile(t *testing.T) {
	path := tempWallet(t)
	w := openTest(t, path, nil)
	mustPut(t, w, fakeTokens(2, "issuer.test", randBytes(32), time.Time{}))
	errStop := errors.New("stop")
	err := w.Update(func(st *State) error {
		st.Tokens = nil
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Update = %v, want %v", err, errStop)
	}
	if n, _ := w.Count(Filter{}); n != 2 {
		t.Fatalf("after a failed Update the wallet has %d tokens, want 2", n)
	}
}

func TestCorruptFile(t *testing.T) {
	for _, c := range []struct {
		name    string
		content string
	}{
		{"not json", "hello"},
		{"short key id", `{"version":1,"tokens":[{"issuer_name":"i","token_key_id":"AAAA","token":"AAAA","challenge_digest":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]}`},
		{"order without secret", `{"version":1,"orders":[{"issuer_url":"http://x"}]}`},
		{"future version", `{"version":99}`},
		{"damaged age file", "age-encryption.org/v1\n-> scrypt garbage\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := tempWallet(t)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, []byte("pw"), WithWorkFactor(testWorkFactor))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
		})
	}
}
