package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/blindpass/blindpass/internal/store/storetest"
)

func TestAdminConformance(t *testing.T) {
	storetest.RunAdmin(t, func(t *testing.T) storetest.AdminBoth {
		s := open(t, filepath.Join(t.TempDir(), "blindpass.db"))
		t.Cleanup(func() { s.Close() })
		return s
	})
}
