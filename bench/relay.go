package bench

import (
	"context"
	"time"

	"github.com/blindpass/blindpass/ohttp/transport"
	"github.com/blindpass/blindpass/protocol"
)

// relayClients bounds the relay phase's concurrency (each relayed
// redemption is three HTTP exchanges and an HPKE open/seal on a shared
// machine).
const relayClients = 16

// relayWarm tokens warm each path up first.
const relayWarm = 50

// RelayResult compares POST /v1/redeem sent directly with the same request
// sent through an Oblivious HTTP relay to the redeemer's gateway, in the
// same run, over net/http both ways.
type RelayResult struct {
	Direct  RedeemResult `json:"direct"`
	Relayed RedeemResult `json:"relayed"`
	// ThroughputRatio is Relayed.PerSecond / Direct.PerSecond.
	ThroughputRatio float64 `json:"throughput_ratio"`
	// P50Ratio and P99Ratio are relayed latency ÷ direct latency.
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
	// AddedP50 and AddedP99 are the latency the relay hop adds.
	AddedP50 time.Duration `json:"added_p50"`
	AddedP99 time.Duration `json:"added_p99"`
}

// relayPhase redeems half of tokens directly and half through the relay.
func relayPhase(ctx context.Context, srv *servers, redeemURL string, tokens []protocol.Token, clients int) (*RelayResult, error) {
	direct := redeemClient{http: newHTTPClient(clients), url: redeemURL}
	defer direct.http.CloseIdleConnections()
	tr, err := transport.New(srv.relayURL, newHTTPClient(clients).Transport)
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	relayed := redeemClient{http: newHTTPClient(clients), url: redeemURL}
	relayed.http.Transport = tr

	n := (len(tokens) - 2*relayWarm) / 2
	const bound = 10 * time.Minute
	fullSpeed(ctx, direct, tokens[:relayWarm], clients, bound)
	fullSpeed(ctx, relayed, tokens[relayWarm:2*relayWarm], clients, bound)
	rest := tokens[2*relayWarm:]
	r := &RelayResult{
		Direct:  fullSpeed(ctx, direct, rest[:n], clients, bound),
		Relayed: fullSpeed(ctx, relayed, rest[n:2*n], clients, bound),
	}
	if r.Direct.PerSecond > 0 {
		r.ThroughputRatio = r.Relayed.PerSecond / r.Direct.PerSecond
	}
	if d := r.Direct.Latency; d.P50 > 0 && d.P99 > 0 {
		r.P50Ratio = float64(r.Relayed.Latency.P50) / float64(d.P50)
		r.P99Ratio = float64(r.Relayed.Latency.P99) / float64(d.P99)
	}
	r.AddedP50 = r.Relayed.Latency.P50 - r.Direct.Latency.P50
	r.AddedP99 = r.Relayed.Latency.P99 - r.Direct.Latency.P99
	return r, nil
}
