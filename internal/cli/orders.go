package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/internal/cmdutil"
	"github.com/blindpass/blindpass/protocol"
)

type ordersOptions struct {
	issuer  string
	offline bool
}

func (a *App) newOrdersCmd(g *globals) *cobra.Command {
	var o ordersOptions
	cmd := &cobra.Command{
		Use:   "orders [--issuer URL] [--offline]",
		Short: "List your orders and vouchers; pay a pending order, or forget one",
		Long: `orders lists the orders and vouchers in the wallet with their status, plan, credit (tokens
issued of the total), age and issuer, asking each issuer about the orders it sold (--offline
does not ask). A pending order shows where to pay it.

  orders pay ID      show the checkout URL of a pending order again (--open opens it), wait
                     for the payment and fetch the tokens; for a paid order, fetch its tokens
  orders forget ID   remove an order or voucher from the wallet (asks first, or --yes);
                     refused while it has paid credit not yet turned into tokens (--force)

ID is an order id as listed (a unique start of it is enough).`,
		Example: `  blindpass orders
  blindpass orders --json
  blindpass orders pay ord_3k2j --open
  blindpass orders forget ord_3k2j --yes`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{cmdutil.UnknownSubcommand(cmd, args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return a.listOrders(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.issuer, "issuer", "", "only this issuer's orders")
	f.BoolVar(&o.offline, "offline", false, "do not ask the issuers (no status or credit)")
	cmd.AddCommand(a.newOrdersPayCmd(g), a.newOrdersForgetCmd(g))
	return cmd
}

// orderRow is one order of `orders` (and of --json).
type orderRow struct {
	IssuerURL string `json:"issuer_url"`
	OrderID   string `json:"order_id,omitempty"`
	Voucher   bool   `json:"voucher,omitempty"`
	Plan      string `json:"plan,omitempty"`
	// Status is the issuer's (pending, paid, frozen, refunded, expired);
	// empty when it was not asked or did not answer.
	Status           string    `json:"status,omitempty"`
	CreditsTotal     *int      `json:"credits_total,omitempty"`
	CreditsIssued    *int      `json:"credits_issued,omitempty"`
	CreditsRemaining *int      `json:"credits_remaining,omitempty"`
	Created          time.Time `json:"created,omitzero"`
	AgeSeconds       int64     `json:"age_seconds"`
	// CheckoutURL is where to pay a pending order.
	CheckoutURL string `json:"checkout_url,omitempty"`
	Error       string `json:"error,omitempty"`
}

func (a *App) listOrders(ctx context.Context, g *globals, o ordersOptions) error {
	s, err := a.open(g)
	if err != nil {
		return err
	}
	only := ""
	if o.issuer != "" {
		if only, err = a.resolveURL(issuerService, o.issuer, ""); err != nil {
			return err
		}
	}
	orders, err := s.w.Orders()
	if err != nil {
		return err
	}
	rows := []orderRow{}
	var settled []wallet.Order // seen no longer pending: their checkout URL is dropped
	for _, ord := range orders {
		if only != "" && ord.IssuerURL != only {
			continue
		}
		row := orderRow{IssuerURL: ord.IssuerURL, OrderID: ord.OrderID, Voucher: ord.Voucher, Plan: ord.Plan, Created: ord.Created}
		if !ord.Created.IsZero() {
			row.AgeSeconds = int64(a.Now().Sub(ord.Created) / time.Second)
		}
		if !o.offline {
			st, err := s.c.OrderStatus(ctx, ord.IssuerURL, ord.Secret)
			if err != nil {
				row.Error = a.statusError(err)
			} else {
				row.Status = st.Status
				row.CreditsTotal, row.CreditsIssued, row.CreditsRemaining = &st.CreditsTotal, &st.CreditsIssued, &st.CreditsRemaining
				if row.OrderID == "" {
					row.OrderID = st.OrderID
				}
				if st.Status != client.StatusPending && ord.CheckoutURL != "" {
					settled = append(settled, ord)
				}
			}
		}
		if ord.CheckoutURL != "" && (row.Status == client.StatusPending || row.Status == "") {
			row.CheckoutURL = ord.CheckoutURL
		}
		rows = append(rows, row)
	}
	if err := forgetCheckoutURLs(s.w, settled); err != nil {
		a.logger(g).Warn("could not update the wallet", "error", err)
	}
	if g.json {
		return a.printJSON(map[string]any{"orders": rows})
	}
	a.printOrders(rows)
	return nil
}

// statusError is the short reason an order's status is not known.
func (a *App) statusError(err error) string {
	var un *client.UnreachableError
	switch {
	case errors.As(err, &un):
		return "no answer: " + reason(un.Err)
	case errors.Is(err, client.ErrUnknownSecret):
		return "the issuer does not know this order (an unpaid order may have been removed)"
	}
	return err.Error()
}

func (a *App) printOrders(rows []orderRow) {
	if len(rows) == 0 {
		fmt.Fprintln(a.stdout, "The wallet holds no orders or vouchers. Buy with `blindpass buy --issuer URL --plan ID` or redeem a voucher with `blindpass voucher CODE`.")
		return
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER\tPLAN\tSTATUS\tISSUED/TOTAL\tAGE\tISSUER")
	for _, r := range rows {
		id := r.OrderID
		if r.Voucher {
			id += " (voucher)"
		}
		status, credit := r.Status, "-"
		if r.Error != "" {
			status = "?"
		}
		if r.CreditsTotal != nil && (r.Status != client.StatusPending || *r.CreditsTotal > 0) {
			credit = fmt.Sprintf("%d/%d", *r.CreditsIssued, *r.CreditsTotal)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id, r.Plan, status, credit, shortAge(time.Duration(r.AgeSeconds)*time.Second, r.Created.IsZero()), r.IssuerURL)
	}
	_ = tw.Flush()
	for _, r := range rows {
		switch {
		case r.Error != "":
			fmt.Fprintf(a.stdout, "%s: %s\n", r.OrderID, r.Error)
		case r.CheckoutURL != "":
			fmt.Fprintf(a.stdout, "%s is waiting for its payment: pay at %s\n  or run `blindpass orders pay %s --open`\n", r.OrderID, r.CheckoutURL, r.OrderID)
		case r.Status == client.StatusPaid && r.CreditsRemaining != nil && *r.CreditsRemaining > 0:
			fmt.Fprintf(a.stdout, "%s has %s: `blindpass refill` turns them into tokens\n", r.OrderID, count(*r.CreditsRemaining, "credit left", "credits left"))
		}
	}
}

// shortAge writes an age as 45s, 12m, 5h or 3d.
func shortAge(d time.Duration, unknown bool) string {
	switch {
	case unknown:
		return "?"
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d/time.Second)))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// forgetCheckoutURLs drops the checkout URLs of orders seen paid or
// closed, so that only pending orders are asked about before a new buy.
func forgetCheckoutURLs(w *wallet.Wallet, orders []wallet.Order) error {
	if len(orders) == 0 {
		return nil
	}
	return w.Update(func(st *wallet.State) error {
		for _, o := range orders {
			if e, ok := st.FindOrder(o.IssuerURL, o.Secret); ok {
				e.CheckoutURL = ""
			}
		}
		return nil
	})
}

// findOrder finds the wallet's order with this id, or the only one whose
// id starts with it.
func findOrder(w *wallet.Wallet, id string) (wallet.Order, error) {
	id = strings.TrimSpace(id)
	orders, err := w.Orders()
	if err != nil {
		return wallet.Order{}, err
	}
	var found []wallet.Order
	for _, o := range orders {
		if o.OrderID == id {
			return o, nil
		}
		if id != "" && strings.HasPrefix(o.OrderID, id) {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return wallet.Order{}, usageErrorf("the wallet holds no order %q: `blindpass orders` lists them", id)
	}
	return wallet.Order{}, usageErrorf("%q is the start of %d order ids: give more of it", id, len(found))
}

type payOptions struct {
	redeemer string
	open     bool
	count    int
}

func (a *App) newOrdersPayCmd(g *globals) *cobra.Command {
	var o payOptions
	cmd := &cobra.Command{
		Use:   "pay ID [--open] [--redeemer URL] [--count N]",
		Short: "Pay a pending order (its checkout URL again), wait for the payment and fetch the tokens",
		Long: `pay resumes the purchase of an order in the wallet, for example after Ctrl-C in 'blindpass buy':
it prints the order's checkout URL again (--open opens it in the browser), waits for the payment
and turns the credit into tokens for the redeemer (--redeemer, BLINDPASS_REDEEMER or remembered).
For an order already paid it fetches the tokens at once. Ctrl-C stops waiting; run it again later.`,
		Example: `  blindpass orders pay ord_3k2j --open`,
		Args:    args(cobra.ExactArgs(1)),
		RunE:    func(cmd *cobra.Command, a2 []string) error { return a.payOrder(cmd.Context(), g, o, a2[0]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.redeemer, "redeemer", "", "redeemer URL the tokens are for (env "+envRedeemer+"; default: remembered)")
	f.BoolVar(&o.open, "open", false, "open the checkout URL in the browser")
	f.IntVar(&o.count, "count", 0, "tokens to fetch now (0: all the credit)")
	return cmd
}

func (a *App) payOrder(ctx context.Context, g *globals, o payOptions, id string) error {
	if o.count < 0 {
		return usageErrorf("--count must not be negative")
	}
	s, err := a.open(g)
	if err != nil {
		return err
	}
	ord, err := findOrder(s.w, id)
	if err != nil {
		return err
	}
	a.noteURL(ord.IssuerURL, "order")
	redeemer, err := s.redeemer(o.redeemer)
	if err != nil {
		return err
	}
	st, err := s.c.OrderStatus(ctx, ord.IssuerURL, ord.Secret)
	if err != nil {
		return fmt.Errorf("order %s: %w", ord.OrderID, err)
	}
	var ch protocol.Challenge
	if redeemer != "" {
		if ch, err = s.challengeFor(ctx, ord.IssuerURL, redeemer); err != nil {
			return err
		}
	}
	switch st.Status {
	case client.StatusPaid:
	case client.StatusPending:
		if ord.CheckoutURL == "" {
			return fmt.Errorf("order %s is not paid, and the wallet does not hold its checkout URL (an older blindpass made it): buy again with `blindpass buy`, then `blindpass orders forget %s`", ord.OrderID, ord.OrderID)
		}
		if g.json {
			if err := a.printJSON(map[string]string{"order_id": ord.OrderID, "checkout_url": ord.CheckoutURL, "status": st.Status}); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(a.stdout, "Order %s (plan %s) waits for its payment.\nPay here: %s\n", ord.OrderID, ord.Plan, ord.CheckoutURL)
		}
		if o.open {
			a.openCheckout(ord.CheckoutURL)
		}
		sp := startSpinner(a.Stderr, "Waiting for the payment (Ctrl-C stops waiting; the order stays in the wallet)")
		st, err = s.c.WaitPaid(ctx, ord.IssuerURL, ord.Secret, a.PollInterval, nil)
		sp.Stop()
		if interrupted(ctx, err) {
			return fmt.Errorf("stopped waiting for the payment of order %s; it stays in the wallet: `blindpass orders pay %s` resumes", ord.OrderID, ord.OrderID)
		}
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("order %s is %s: it can no longer be paid; `blindpass orders forget %s` removes it from the wallet", ord.OrderID, st.Status, ord.OrderID)
	}
	if err := forgetCheckoutURLs(s.w, []wallet.Order{ord}); err != nil {
		a.logger(g).Warn("could not update the wallet", "error", err)
	}
	n := 0
	if redeemer != "" && st.CreditsRemaining > 0 {
		if n, err = s.fetch(ctx, ord.IssuerURL, ord.Secret, ch, o.count); err != nil {
			return fmt.Errorf("order %s is paid and kept in the wallet (`blindpass refill` fetches the rest): %w", ord.OrderID, err)
		}
		s.remember("", redeemer)
	}
	left := st.CreditsRemaining - n
	if g.json {
		return a.printJSON(map[string]any{"order_id": ord.OrderID, "status": st.Status, "tokens": n, "credits_remaining": left})
	}
	switch {
	case st.CreditsRemaining == 0:
		fmt.Fprintf(a.stdout, "Order %s is paid and has no credit left: its tokens were fetched before.\n", ord.OrderID)
	case redeemer == "":
		fmt.Fprintf(a.stdout, "Paid: %s wait in the wallet. No redeemer is known yet: run\n  blindpass refill --redeemer URL\nto turn them into tokens for it.\n", count(left, "credit", "credits"))
	default:
		fmt.Fprintf(a.stdout, "Paid. %s in your wallet for %s.\n", count(n, "token is", "tokens are"), redeemer)
		if left > 0 {
			fmt.Fprintf(a.stdout, "%s on the order: `blindpass refill` turns them into tokens.\n", count(left, "credit remains", "credits remain"))
		}
	}
	return nil
}

type forgetOptions struct {
	yes, force bool
}

func (a *App) newOrdersForgetCmd(g *globals) *cobra.Command {
	var o forgetOptions
	cmd := &cobra.Command{
		Use:   "forget ID [--yes] [--force]",
		Short: "Remove an order or voucher from the wallet",
		Long: `forget deletes an order or voucher, with its secret, from the wallet: for abandoned pending
orders, and used-up or expired ones. It asks first (--yes does not ask; without a terminal
--yes is required).

The wallet holds the only copy of an order's secret, so forget refuses an order whose paid
credit is not all turned into tokens yet (run 'blindpass refill' first), and one whose issuer
cannot be asked; --force forgets it anyway and that credit is lost. A pending order that is
paid after it was forgotten cannot be turned into tokens.`,
		Example: `  blindpass orders forget ord_3k2j
  blindpass orders forget ord_3k2j --yes --force`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a2 []string) error { return a.forgetOrder(cmd.Context(), g, o, a2[0]) },
	}
	f := cmd.Flags()
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	f.BoolVar(&o.force, "force", false, "forget it even with unfetched paid credit, or when the issuer cannot be asked")
	return cmd
}

func (a *App) forgetOrder(ctx context.Context, g *globals, o forgetOptions, id string) error {
	s, err := a.open(g)
	if err != nil {
		return err
	}
	ord, err := findOrder(s.w, id)
	if err != nil {
		return err
	}
	a.noteURL(ord.IssuerURL, "order")
	what := "order " + ord.OrderID
	if ord.Voucher {
		what = "voucher " + ord.OrderID
	}
	status := "used up"
	if !ord.Exhausted {
		st, err := s.c.OrderStatus(ctx, ord.IssuerURL, ord.Secret)
		switch {
		case errors.Is(err, client.ErrUnknownSecret):
			status = "unknown to the issuer"
		case err != nil && !o.force:
			return fmt.Errorf("could not ask the issuer whether %s has credit left (%s); pass --force to forget it anyway", what, a.statusError(err))
		case err != nil:
			status = "not known"
		case st.CreditsRemaining > 0 && (st.Status == client.StatusPaid || st.Status == client.StatusFrozen) && !o.force:
			return fmt.Errorf("%s has %s not yet turned into tokens: run `blindpass refill` first, or pass --force to forget it anyway (the credit is then lost: only this wallet holds the order's secret)",
				what, count(st.CreditsRemaining, "paid credit", "paid credits"))
		default:
			status = st.Status
			if st.CreditsRemaining > 0 && st.Status != client.StatusPending {
				status += fmt.Sprintf(", %s left", count(st.CreditsRemaining, "credit", "credits"))
			}
		}
	}
	if !o.yes {
		if !a.interactive() {
			return usageErrorf("forget %s: pass --yes to confirm (no terminal to ask on)", what)
		}
		fmt.Fprintf(a.stderr, "Forget %s (plan %s, %s) from %s? Its secret is deleted from the wallet. [y/N] ", what, ord.Plan, status, ord.IssuerURL)
		line, _ := bufio.NewReader(a.Stdin).ReadString('\n')
		if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
			return errors.New("nothing forgotten")
		}
	}
	removed := 0
	err = s.w.Update(func(st *wallet.State) error {
		kept := st.Orders[:0]
		for _, e := range st.Orders {
			if e.IssuerURL == ord.IssuerURL && e.Secret == ord.Secret {
				removed++
				continue
			}
			kept = append(kept, e)
		}
		st.Orders = kept
		return nil
	})
	if err != nil {
		return err
	}
	if g.json {
		return a.printJSON(map[string]any{"order_id": ord.OrderID, "forgotten": removed > 0})
	}
	fmt.Fprintf(a.stdout, "Forgot %s (%s).\n", what, status)
	return nil
}

// pendingOrders asks the issuer about the wallet's orders there that were
// pending when last seen (they hold a checkout URL) and returns those that
// still are; the others lose their checkout URL.
func (a *App) pendingOrders(ctx context.Context, s *session, issuer string) []wallet.Order {
	orders, err := s.w.Orders()
	if err != nil {
		return nil
	}
	var pending, settled []wallet.Order
	for _, o := range orders {
		if o.IssuerURL != issuer || o.CheckoutURL == "" || o.Voucher || o.Exhausted {
			continue
		}
		st, err := s.c.OrderStatus(ctx, o.IssuerURL, o.Secret)
		switch {
		case err == nil && st.Status == client.StatusPending:
			pending = append(pending, o)
		case err == nil, errors.Is(err, client.ErrUnknownSecret):
			settled = append(settled, o)
		}
	}
	_ = forgetCheckoutURLs(s.w, settled)
	return pending
}

// pendingError is buy's refusal to make another order while one waits for
// its payment.
func (a *App) pendingError(pending []wallet.Order) error {
	var b strings.Builder
	if len(pending) == 1 {
		fmt.Fprintf(&b, "an order at this issuer is waiting for its payment:")
	} else {
		fmt.Fprintf(&b, "%d orders at this issuer are waiting for their payment:", len(pending))
	}
	for _, o := range pending {
		fmt.Fprintf(&b, "\n  %s (plan %s, made %s ago)", o.OrderID, o.Plan, shortAge(a.Now().Sub(o.Created), o.Created.IsZero()))
	}
	id := pending[0].OrderID
	fmt.Fprintf(&b, "\n  → pay it and fetch its tokens: blindpass orders pay %s --open\n    or remove it: blindpass orders forget %s\n    or pass --new to make another order anyway", id, id)
	return errors.New(b.String())
}
