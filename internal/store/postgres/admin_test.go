package postgres_test

import (
	"testing"

	"github.com/blindpass/blindpass/internal/store/storetest"
	"github.com/blindpass/blindpass/internal/testdb"
)

func TestAdminConformance(t *testing.T) {
	storetest.RunAdmin(t, func(t *testing.T) storetest.AdminBoth {
		s := open(t, testdb.New(t))
		t.Cleanup(func() { s.Close() })
		return s
	})
}
