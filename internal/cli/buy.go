package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/protocol"
)

type buyOptions struct {
	issuer, redeemer, plan string
	open, newOrder         bool
	count                  int
}

func (a *App) newBuyCmd(g *globals) *cobra.Command {
	var o buyOptions
	cmd := &cobra.Command{
		Use:   "buy --issuer URL --plan ID [--redeemer URL] [--open] [--count N]",
		Short: "Order a plan, pay in the browser, fetch the tokens",
		Long: `buy orders a plan at the issuer and prints the checkout URL (--open opens it in your browser).
It waits for the payment, then turns the credit into tokens for the redeemer and stores them.

Only the hash of a fresh random order secret goes to the issuer; the secret stays in your wallet
and later proves the order when tokens are fetched. Nothing about you goes to the redeemer.

Ctrl-C stops waiting: the order stays in the wallet; 'blindpass orders pay ID' shows its
checkout URL again and fetches its tokens once it is paid. While an order at the issuer waits
for its payment, buy says so and makes no other order (--new makes one anyway).

Tokens are made for one redeemer (its challenge), so buy needs to know it: --redeemer, else
BLINDPASS_REDEEMER, else the redeemer remembered in the wallet. When none is known, buy still
completes the purchase and leaves the credit in the wallet: 'blindpass refill --redeemer URL'
turns it into tokens. Without --plan, buy lists the issuer's plans.`,
		Example: `  blindpass buy --issuer http://127.0.0.1:8700 --redeemer http://127.0.0.1:8701 --plan starter
  blindpass buy --plan plus --open            # issuer and redeemer remembered from before
  blindpass buy --plan plus --count 50        # fetch 50 tokens now, the rest later with refill`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.buy(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.issuer, "issuer", "", "issuer URL (env "+envIssuer+"; default: remembered)")
	f.StringVar(&o.redeemer, "redeemer", "", "redeemer URL the tokens are for (env "+envRedeemer+"; default: remembered)")
	f.StringVar(&o.plan, "plan", "", "plan ID to buy (without it, the plans are listed)")
	f.BoolVar(&o.open, "open", false, "open the checkout URL in the browser")
	f.IntVar(&o.count, "count", 0, "tokens to fetch now (0: all the credit)")
	f.BoolVar(&o.newOrder, "new", false, "make a new order even while another one at the issuer waits for its payment")
	return cmd
}

func (a *App) buy(ctx context.Context, g *globals, o buyOptions) error {
	if o.count < 0 {
		return usageErrorf("--count must not be negative")
	}
	s, err := a.open(g)
	if err != nil {
		return err
	}
	issuer, err := a.needURL(issuerService, o.issuer, s.settings.IssuerURL, "buy")
	if err != nil {
		return err
	}
	redeemer, err := s.redeemer(o.redeemer)
	if err != nil {
		return err
	}
	if o.plan == "" {
		return a.noPlan(ctx, s, issuer)
	}
	var ch protocol.Challenge
	if redeemer != "" {
		if ch, err = s.challengeFor(ctx, issuer, redeemer); err != nil {
			return err
		}
	}
	if !o.newOrder {
		if pending := a.pendingOrders(ctx, s, issuer); len(pending) > 0 {
			return a.pendingError(pending)
		}
	}
	secret, err := client.NewOrderSecret()
	if err != nil {
		return err
	}
	order, err := s.c.CreateOrder(ctx, issuer, o.plan, secret)
	if isUnknownPlan(err) {
		return a.unknownPlan(ctx, s, issuer, o.plan, err)
	}
	if err != nil {
		return err
	}
	s.remember(issuer, redeemer)
	if g.json {
		if err := a.printJSON(map[string]string{"order_id": order.ID, "checkout_url": order.CheckoutURL, "status": order.Status}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "Order %s (plan %s) is in your wallet.\nPay here: %s\n", order.ID, o.plan, order.CheckoutURL)
	}
	if o.open {
		a.openCheckout(order.CheckoutURL)
	}

	sp := startSpinner(a.Stderr, "Waiting for the payment (Ctrl-C stops waiting; the order stays in the wallet)")
	st, err := s.c.WaitPaid(ctx, issuer, secret.Bearer(), a.PollInterval, nil)
	sp.Stop()
	if interrupted(ctx, err) {
		return fmt.Errorf("stopped waiting for the payment of order %s; it stays in the wallet: `blindpass orders pay %s` shows where to pay it again and fetches its tokens (once it is paid, `blindpass refill` does too)", order.ID, order.ID)
	}
	if err != nil {
		return err
	}
	if err := forgetCheckoutURLs(s.w, []wallet.Order{{IssuerURL: issuer, Secret: secret.Bearer()}}); err != nil {
		a.logger(g).Warn("could not update the wallet", "error", err)
	}
	if redeemer == "" {
		if g.json {
			return a.printJSON(map[string]any{"order_id": order.ID, "status": st.Status, "tokens": 0, "credits_remaining": st.CreditsRemaining})
		}
		fmt.Fprintf(a.stdout, "Paid: %s wait in the wallet. No redeemer is known yet: run\n  blindpass refill --redeemer URL\nto turn them into tokens for it.\n", count(st.CreditsRemaining, "credit", "credits"))
		return nil
	}
	n, err := s.fetch(ctx, issuer, secret.Bearer(), ch, o.count)
	if err != nil {
		return fmt.Errorf("order %s is paid and kept in the wallet (`blindpass refill` fetches the rest): %w", order.ID, err)
	}
	left := st.CreditsRemaining - n
	if g.json {
		return a.printJSON(map[string]any{"order_id": order.ID, "status": st.Status, "tokens": n, "credits_remaining": left})
	}
	fmt.Fprintf(a.stdout, "Paid. %s in your wallet for %s.\n", count(n, "token is", "tokens are"), redeemer)
	if left > 0 {
		fmt.Fprintf(a.stdout, "%s on the order: `blindpass refill` turns them into tokens.\n", count(left, "credit remains", "credits remain"))
	}
	return nil
}

// noPlan lists the issuer's plans for a buy without --plan.
func (a *App) noPlan(ctx context.Context, s *session, issuer string) error {
	plans, err := s.c.ListPlans(ctx, issuer)
	if err != nil {
		return usageErrorf("buy needs --plan ID (listing the plans failed: %w)", err)
	}
	return usageErrorf("buy needs --plan ID; plans at %s:%s", issuer, planList(plans))
}

// isUnknownPlan reports whether the issuer refused an order's plan id.
func isUnknownPlan(err error) bool {
	var pe *client.ProblemError
	return errors.As(err, &pe) && strings.HasSuffix(pe.Type, "/unknown-plan")
}

// unknownPlan is the error for a plan id the issuer does not sell: it names
// the id and lists the plans on sale.
func (a *App) unknownPlan(ctx context.Context, s *session, issuer, plan string, cause error) error {
	plans, err := s.c.ListPlans(ctx, issuer)
	if err != nil {
		return usageErrorf("no plan %q is on sale at %s (listing the plans failed: %w)", plan, issuer, err)
	}
	if len(plans) == 0 {
		return usageErrorf("no plan %q is on sale at %s: it sells no plans at all (%w)", plan, issuer, cause)
	}
	return usageErrorf("no plan %q is on sale at %s; plans on sale:%s", plan, issuer, planList(plans))
}

// planList writes plans one a line, indented.
func planList(plans []client.Plan) string {
	var b strings.Builder
	for _, p := range plans {
		fmt.Fprintf(&b, "\n  %-12s %s: %s for %s", p.ID, p.Name, count(p.Tokens, "token", "tokens"), price(p.Price, p.Currency))
	}
	return b.String()
}

// price formats minor units of a currency (2 decimals assumed).
func price(minor int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", minor/100, minor%100, strings.ToUpper(currency))
}
