package keys

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadKEK(t *testing.T) {
	key := randBytes(t, 32)
	std := base64.StdEncoding.EncodeToString(key)
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string // substring; "" = success
	}{
		{"standard base64 with newline", std + "\n", 0o600, ""},
		{"url base64 without padding", base64.RawURLEncoding.EncodeToString(key), 0o400, ""},
		{"surrounding space", "  " + std + "\n\n", 0o600, ""},
		{"group readable", std, 0o640, "chmod 600"},
		{"world readable", std, 0o604, "chmod 600"},
		{"group writable", std, 0o620, "chmod 600"},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), 0o600, "decodes to 16 bytes"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(bytes.Clone(key), 1)), 0o600, "decodes to 33 bytes"},
		{"not base64", "this is not a key!!", 0o600, "not base64"},
		{"raw bytes", string(key), 0o600, "not base64"},
		{"empty", "", 0o600, "empty"},
		{"too large", strings.Repeat("A", 2000), 0o600, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kek")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			got, err := LoadKEK(path)
			if tc.wantErr == "" {
				if err != nil || !bytes.Equal(got, key) {
					t.Fatalf("LoadKEK = %x, %v; want the key", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("LoadKEK error = %v, want one containing %q", err, tc.wantErr)
			}
			if len(tc.content) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tc.content)) {
				t.Fatalf("error shows the file content: %v", err)
			}
		})
	}
}

func TestLoadKEKMissingAndDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadKEK(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: error = %v, want fs.ErrNotExist", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKEK(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: error = %v", err)
	}
}

func TestCreateKEK(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek")
	made, err := CreateKEK(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != KEKSize {
		t.Fatalf("CreateKEK made %d bytes", len(made))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %04o, want 0600", st.Mode().Perm())
	}
	loaded, err := LoadKEK(path)
	if err != nil || !bytes.Equal(loaded, made) {
		t.Fatalf("LoadKEK after CreateKEK = %x, %v", loaded, err)
	}
	if _, err := CreateKEK(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second CreateKEK error = %v, want fs.ErrExist", err)
	}
	again, err := LoadOrCreateKEK(path)
	if err != nil || !bytes.Equal(again, made) {
		t.Fatalf("LoadOrCreateKEK on an existing file = %x, %v", again, err)
	}
	fresh := filepath.Join(t.TempDir(), "kek")
	created, err := LoadOrCreateKEK(fresh)
	if err != nil || len(created) != KEKSize {
		t.Fatalf("LoadOrCreateKEK on a new path = %x, %v", created, err)
	}
}
