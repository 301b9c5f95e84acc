package postgres_test

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/storetest"
	"github.com/blindpass/blindpass/internal/testdb"
)

func BenchmarkSpend(b *testing.B) {
	s := open(b, testdb.New(b))
	defer s.Close()
	storetest.BenchmarkSpend(b, s)
}

// BenchmarkSpendConcurrent spends fresh single tokens from more and more
// concurrent callers (a redeemer under load has one per request in
// flight): the group commit batches more as more callers wait. Reported:
// spends/s and the mean tokens per INSERT.
func BenchmarkSpendConcurrent(b *testing.B) {
	s := open(b, testdb.New(b))
	defer s.Close()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := s.PrepareKey(b.Context(), key); err != nil {
		b.Fatal(err)
	}
	for _, callers := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			f0, t0 := s.SpendBatchStats()
			b.SetParallelism(max(callers/2, 1)) // 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					nonce := make([]byte, 32)
					_, _ = rand.Read(nonce)
					got, err := s.Spend(b.Context(), []store.SpentToken{{KeyID: key, Nonce: nonce, SpentHour: time.Now()}})
					if err != nil || len(got) != 0 {
						b.Errorf("Spend = %v, %v", got, err)
						return
					}
				}
			})
			f1, t1 := s.SpendBatchStats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spends/s")
			if f1 > f0 {
				b.ReportMetric(float64(t1-t0)/float64(f1-f0), "tokens/insert")
			}
		})
	}
}
