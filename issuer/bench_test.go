package issuer_test

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/protocol"
)

// BenchmarkIssueBatch100HTTP issues 100-token generic batches over real
// HTTP (credit moved in the store each time) and, in the same run, measures
// raw signing (the issuer's protocol.Signer) on the same requests. Metrics:
//
//	http-ns/token          HTTP issuance, per token
//	raw-sign-ns/token      Signer.BlindSign on one core
//	raw-parallel-ns/token  Signer.BlindSign on GOMAXPROCS cores (what the server does)
//	overhead-ratio         http-ns/token ÷ raw-parallel-ns/token
func BenchmarkIssueBatch100HTTP(b *testing.B) {
	const n = 100
	for _, kind := range storeKinds {
		b.Run(kind.name, func(b *testing.B) {
			e := newEnv(b, kind.open, issuer.Config{DevPayments: true})
			pub, _ := e.directoryKey()
			s := newSecret()
			o := store.Order{ID: "ord_benchbenchbenchbenchbenchb", PlanID: "starter", SecretHash: mustDecode(b, s.hash),
				Status: store.OrderPaid, Provider: "dev", CreditsTotal: 1 << 40, CreatedAt: t0, UpdatedAt: t0}
			if err := e.st.CreateOrder(context.Background(), o); err != nil {
				b.Fatal(err)
			}
			reqs, _ := e.tokenRequests(n, pub)
			body := batchBody(reqs)

			for b.Loop() {
				if r := e.issue(s, protocol.MediaTypeBatchRequest, body, nil); r.status != http.StatusOK {
					b.Fatalf("issue: %d %s", r.status, r.body)
				}
			}
			httpNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N*n)

			sk, _, err := e.km.Signer(reqs[0].TruncatedTokenKeyID)
			if err != nil {
				b.Fatal(err)
			}
			rounds := max(min(b.N, 5), 2)
			seq := timeIt(rounds, func() {
				for _, r := range reqs {
					if _, err := sk.BlindSign(r); err != nil {
						b.Fatal(err)
					}
				}
			})
			par := timeIt(rounds, func() {
				var wg sync.WaitGroup
				workers := runtime.GOMAXPROCS(0)
				for w := range workers {
					wg.Go(func() {
						for i := w; i < len(reqs); i += workers {
							if _, err := sk.BlindSign(reqs[i]); err != nil {
								b.Error(err)
							}
						}
					})
				}
				wg.Wait()
			})
			rawNs := float64(seq.Nanoseconds()) / float64(rounds*n)
			parNs := float64(par.Nanoseconds()) / float64(rounds*n)
			b.ReportMetric(httpNs, "http-ns/token")
			b.ReportMetric(rawNs, "raw-sign-ns/token")
			b.ReportMetric(parNs, "raw-parallel-ns/token")
			b.ReportMetric(httpNs/parNs, "overhead-ratio")
		})
	}
}

func timeIt(rounds int, f func()) time.Duration {
	start := time.Now()
	for range rounds {
		f()
	}
	return time.Since(start)
}
