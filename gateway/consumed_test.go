package gateway_test

import (
	"context"
	"testing"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/protocol"
	"github.com/blindpass/blindpass/redeemer"
)

// faultySpender is the real redeemer with its spend or undo outcome
// replaced, standing for the store failures the redeemer reports.
type faultySpender struct {
	*redeemer.Redeemer
	spendErr error
	undoErr  error
}

func (f faultySpender) Spend(ctx context.Context, tokens []protocol.Token, binding []byte) (redeemer.Spend, error) {
	if f.spendErr != nil {
		return redeemer.Spend{}, f.spendErr
	}
	return f.Redeemer.Spend(ctx, tokens, binding)
}

func (f faultySpender) Undo(ctx context.Context, s redeemer.Spend) error {
	if f.undoErr != nil {
		return f.undoErr
	}
	return f.Redeemer.Undo(ctx, s)
}

// TestConsumedUnknownPassesThrough: when the redeemer says the spend's
// outcome is unknown (a problem with tokens_consumed "unknown"), the client
// reads Blindpass-Tokens-Consumed: unknown and tokens_consumed "unknown";
// the upstream is never called.
func TestConsumedUnknownPassesThrough(t *testing.T) {
	e := newEnv(t, nil)
	unknown := problem.New(problem.Unavailable, "spend-outcome-unknown", "the spent-token store failed while recording the tokens").
		WithExtension("tokens_consumed", "unknown")
	gw := startGateway(t, testConfig(e.up.URL), faultySpender{Redeemer: e.red, spendErr: unknown}, nil)
	resp := (&env{gw: gw}).call(t, context.Background(), "/v1/chat/completions", chatBody("pro", "hi", false), mint(t, e.red, 1), nil)
	if resp.StatusCode != 503 || resp.Header.Get(gateway.ConsumedHeader) != "unknown" {
		t.Fatalf("status %d, %s %q", resp.StatusCode, gateway.ConsumedHeader, resp.Header.Get(gateway.ConsumedHeader))
	}
	if p := errorBody(t, resp); p["tokens_consumed"] != "unknown" || p["code"] != "spend_outcome_unknown" {
		t.Errorf("error %v", p)
	}
	if n := len(e.up.requests()); n != 0 {
		t.Errorf("the upstream was called %d times", n)
	}
}

// TestUndoRefusedReportsConsumed: when the redeemer refuses to undo (a
// replay of the spend was already served), the failing request reports its
// tokens consumed, never "false".
func TestUndoRefusedReportsConsumed(t *testing.T) {
	e := newEnv(t, nil)
	e.up.setRespond(statusOnly(500))
	gw := startGateway(t, testConfig(e.up.URL), faultySpender{Redeemer: e.red, undoErr: redeemer.ErrUndoRefused}, nil)
	resp := (&env{gw: gw}).call(t, context.Background(), "/v1/chat/completions", chatBody("pro", "hi", false), mint(t, e.red, 1), nil)
	if resp.StatusCode != 502 || resp.Header.Get(gateway.ConsumedHeader) != "true" {
		t.Fatalf("status %d, %s %q", resp.StatusCode, gateway.ConsumedHeader, resp.Header.Get(gateway.ConsumedHeader))
	}
	if p := errorBody(t, resp); p["tokens_consumed"] != true {
		t.Errorf("error %v", p)
	}
}

// TestUndoOutcomeUnknownReportsUnknown: when the undo itself fails after it
// may have committed (the store's outcome is unknown), the failing request
// says "unknown" (send the tokens again only with this exact request), not
// "true": a client that takes "true" on a 502 as spent pays again for its
// retry although the undo may have freed the tokens. The test fails without
// the fix (it said "true").
func TestUndoOutcomeUnknownReportsUnknown(t *testing.T) {
	e := newEnv(t, nil)
	e.up.setRespond(statusOnly(500))
	unknown := redeemer.ErrSpendUnknown.With("lost while undoing").WithExtension("tokens_consumed", "unknown")
	gw := startGateway(t, testConfig(e.up.URL), faultySpender{Redeemer: e.red, undoErr: unknown}, nil)
	resp := (&env{gw: gw}).call(t, context.Background(), "/v1/chat/completions", chatBody("pro", "hi", false), mint(t, e.red, 1), nil)
	if resp.StatusCode != 502 || resp.Header.Get(gateway.ConsumedHeader) != "unknown" {
		t.Fatalf("status %d, %s %q; want 502, unknown", resp.StatusCode, gateway.ConsumedHeader, resp.Header.Get(gateway.ConsumedHeader))
	}
	if p := errorBody(t, resp); p["tokens_consumed"] != "unknown" {
		t.Errorf("error %v", p)
	}
}
