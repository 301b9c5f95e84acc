package sqlite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// An erased binding leaves no copy in the database files: not in the freed
// space of the table's pages nor in the write-ahead log.
func TestForgottenBindingsLeaveNoResidue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "redeemer.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	binding := bytes.Repeat([]byte{0xB1, 0x7D, 0x1C, 0xE5}, 8)
	key := bytes.Repeat([]byte{7}, 32)
	if err := st.PrepareKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		nonce := bytes.Repeat([]byte{byte(i + 1)}, 32)
		if _, err := st.Spend(ctx, []store.SpentToken{{KeyID: key, Nonce: nonce, Binding: binding, Window: 5_900_000, SpentHour: time.Now().UTC().Truncate(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.ForgetBindings(ctx, 6_000_000, 6_000_001); err != nil || n != 20 {
		t.Fatalf("ForgetBindings = %d, %v", n, err)
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if n := bytes.Count(b, binding); n > 0 {
			t.Errorf("%s holds %d copies of an erased binding", filepath.Base(f), n)
		}
	}
}
