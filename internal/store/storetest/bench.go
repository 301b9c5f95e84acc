package storetest

import (
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// BenchmarkSpend measures fresh single-token spends from many goroutines:
// the redeemer's hot path.
func BenchmarkSpend(b *testing.B, s store.SpendStore) {
	key := random(b, 32)
	if err := s.PrepareKey(b.Context(), key); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tk := store.SpentToken{KeyID: key, Nonce: random(b, 32), SpentHour: time.Now()}
			got, err := s.Spend(b.Context(), []store.SpentToken{tk})
			if err != nil || len(got) != 0 {
				b.Errorf("Spend = %v, %v", got, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spends/s")
}
