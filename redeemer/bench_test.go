package redeemer

import (
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

// BenchmarkRedeemHTTPPostgres redeems fresh tokens over HTTP (POST
// /v1/redeem, real Postgres spent set) from 8 clients per core, and in the
// same run measures token verification alone on every core, as the
// redeemer does it (a protocol.Verifier prepared once). Reported:
// raw-verify-ns/op and http-ns/op (wall time per operation) and their
// ratio, the cost of a redemption over HTTP in units of one signature check.
func BenchmarkRedeemHTTPPostgres(b *testing.B) {
	keys := testKeys(b, 1)
	e := newEnv(b, openPostgres(b, testdb.New(b)), nil, published{key: keys[0]})
	tokens := keys[0].mintN(b, e.r.TokenChallenge(), b.N)
	v, err := protocol.NewVerifier(&keys[0].sk.PublicKey)
	if err != nil {
		b.Fatal(err)
	}

	workers := runtime.GOMAXPROCS(0)
	var next atomic.Int64
	var wg sync.WaitGroup
	rawStart := time.Now()
	for range workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				if err := v.Verify(tokens[i]); err != nil {
					b.Errorf("Verify: %v", err)
				}
			}
		})
	}
	wg.Wait()
	raw := float64(time.Since(rawStart).Nanoseconds()) / float64(b.N)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	next.Store(0)
	b.SetParallelism(8) // 8 clients per core: a database round trip is mostly waiting
	b.ResetTimer()
	httpStart := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok := tokens[next.Add(1)-1]
			res := present(b, client, e.srv.URL, presentation{tokens: []protocol.Token{tok}})
			if res.status != http.StatusOK {
				b.Errorf("redeem: %d %s", res.status, res.code())
			}
		}
	})
	b.StopTimer()
	perHTTP := float64(time.Since(httpStart).Nanoseconds()) / float64(b.N)
	b.ReportMetric(raw, "raw-verify-ns/op")
	b.ReportMetric(perHTTP, "http-ns/op")
	b.ReportMetric(perHTTP/raw, "http/raw-verify")
}
