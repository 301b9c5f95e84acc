package daemon

import (
	"context"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/metrics"
	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
)

// countingSpender counts the gateway's spends by outcome (POST /v1/redeem
// is counted by its route instead).
type countingSpender struct {
	gateway.Spender
	m *metrics.Metrics
}

func (s countingSpender) Spend(ctx context.Context, tokens []protocol.Token, binding []byte) (redeemer.Spend, error) {
	sp, err := s.Spender.Spend(ctx, tokens, binding)
	outcome := "ok"
	if err != nil {
		p := problem.From(err)
		outcome = p.Code
		if outcome == "" {
			outcome = string(p.Kind)
		}
	}
	s.m.Redemption(metrics.APIGateway, outcome)
	return sp, err
}

func (s countingSpender) Undo(ctx context.Context, sp redeemer.Spend) error {
	err := s.Spender.Undo(ctx, sp)
	if err == nil {
		s.m.RedemptionUndone()
	}
	return err
}
