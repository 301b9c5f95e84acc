package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/client/wallet"
)

type refillOptions struct {
	issuer, redeemer string
}

func (a *App) newRefillCmd(g *globals) *cobra.Command {
	var o refillOptions
	cmd := &cobra.Command{
		Use:   "refill [--redeemer URL] [--issuer URL]",
		Short: "Turn the remaining credit of your orders and vouchers into tokens",
		Long: `refill asks the issuer about every order and voucher in the wallet and turns the credit they
have left into tokens for the redeemer. Orders not paid yet are skipped (run refill again once
they are); refunded or expired ones are marked and skipped from then on.

Without --issuer, every issuer the wallet holds orders of is asked. The redeemer is --redeemer,
else BLINDPASS_REDEEMER, else the one remembered in the wallet.

Fetching tokens well before you need them is good for privacy: the issuer then cannot tie a
fetch to the request that follows it.`,
		Example: `  blindpass refill
  blindpass refill --redeemer http://127.0.0.1:8701 --issuer http://127.0.0.1:8700`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.refill(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.issuer, "issuer", "", "only this issuer's orders (env "+envIssuer+"; default: every issuer in the wallet)")
	f.StringVar(&o.redeemer, "redeemer", "", "redeemer URL the tokens are for (env "+envRedeemer+"; default: remembered)")
	return cmd
}

func (a *App) refill(ctx context.Context, g *globals, o refillOptions) error {
	s, err := a.open(g)
	if err != nil {
		return err
	}
	redeemer, err := a.needURL(redeemerService, o.redeemer, s.settings.RedeemerURL, "refill")
	if err != nil {
		return err
	}
	// --issuer or BLINDPASS_ISSUER narrow the refill; the remembered issuer
	// does not (the wallet may hold orders of several).
	only, err := a.resolveURL(issuerService, o.issuer, "")
	if err != nil {
		return err
	}
	issuers, err := orderIssuers(s.w, only)
	if err != nil {
		return err
	}
	for _, iss := range issuers {
		a.noteURL(iss, "order")
	}
	if len(issuers) == 0 {
		return errors.New("the wallet holds no order or voucher with credit to refill from: buy with `blindpass buy --issuer URL --plan ID` or redeem a voucher with `blindpass voucher CODE --issuer URL`")
	}
	// The challenge the wallet remembers, not one asked for right before
	// the issuance (a redeemer could tag this refill's tokens).
	ch, err := s.c.Challenge(ctx, redeemer)
	if err != nil {
		return err
	}
	total := 0
	var errs []error
	for _, iss := range issuers {
		bar := newTokenBar(a.Stderr, "refilling")
		n, err := s.c.Refill(ctx, iss, ch, fetchBatch, func(_ wallet.Order, done, total int) { bar.Set(done, total) })
		bar.Finish()
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("issuer %s: %w", iss, err))
		}
	}
	if total > 0 || len(errs) == 0 {
		s.remember("", redeemer)
	}
	have, cerr := s.usableTokens(ch)
	if g.json {
		out := map[string]any{"tokens_added": total, "tokens": have}
		if len(errs) > 0 {
			out["error"] = errors.Join(errs...).Error()
		}
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "%s; %s in the wallet for %s.\n", count(total, "new token", "new tokens"), count(have, "token", "tokens"), redeemer)
		if total == 0 && len(errs) == 0 {
			fmt.Fprintln(a.stdout, "No paid order has credit left (a pending order is refilled once it is paid: `blindpass orders` shows where to pay it).")
		}
	}
	return errors.Join(append(errs, cerr)...)
}

// orderIssuers lists the issuers of the wallet's orders that may still have
// credit, and of the batches left pending (only: just that one, if the
// wallet holds orders or batches of it).
func orderIssuers(w *wallet.Wallet, only string) ([]string, error) {
	orders, err := w.Orders()
	if err != nil {
		return nil, err
	}
	pending, err := w.PendingBatches(only)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pending {
		if !slices.Contains(out, p.IssuerURL) {
			out = append(out, p.IssuerURL)
		}
	}
	for _, o := range orders {
		if o.Exhausted || (only != "" && o.IssuerURL != only) || slices.Contains(out, o.IssuerURL) {
			continue
		}
		out = append(out, o.IssuerURL)
	}
	return out, nil
}
