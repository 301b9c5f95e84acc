package postgres_test

import (
	"testing"

	"github.com/blindpass/blindpass/internal/store/storetest"
	"github.com/blindpass/blindpass/internal/testdb"
)

func BenchmarkSpend(b *testing.B) {
	s := open(b, testdb.New(b))
	defer s.Close()
	storetest.BenchmarkSpend(b, s)
}
