package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/blindpass/blindpass/internal/store/storetest"
)

func BenchmarkSpend(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	defer s.Close()
	storetest.BenchmarkSpend(b, s)
}
