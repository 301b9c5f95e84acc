package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/client/wallet"
)

func (a *App) newBalanceCmd(g *globals) *cobra.Command {
	var credit bool
	cmd := &cobra.Command{
		Use:   "balance [--credit]",
		Short: "Count the tokens per issuer and key, with their expiry",
		Long: `balance counts the wallet's tokens per issuer and token key, with the time the key stops being
accepted, and the orders and vouchers it holds. Tokens whose key has expired are dropped.
It works offline; --credit also asks each issuer how much credit your orders have left.`,
		Example: `  blindpass wallet balance
  blindpass wallet balance --credit --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.balance(cmd.Context(), g, credit) },
	}
	cmd.Flags().BoolVar(&credit, "credit", false, "ask the issuers for the credit left on each order")
	return cmd
}

type keyBalance struct {
	IssuerName  string     `json:"issuer_name"`
	TokenKeyID  string     `json:"token_key_id"`
	RedeemUntil *time.Time `json:"redeem_until,omitempty"`
	Tokens      int        `json:"tokens"`
}

type orderBalance struct {
	IssuerURL string `json:"issuer_url"`
	OrderID   string `json:"order_id,omitempty"`
	Voucher   bool   `json:"voucher,omitempty"`
	Plan      string `json:"plan,omitempty"`
	Exhausted bool   `json:"exhausted,omitempty"`
	Status    string `json:"status,omitempty"`
	Credits   *int   `json:"credits_remaining,omitempty"`
	// CheckoutURL is where to pay an order --credit found pending.
	CheckoutURL string `json:"checkout_url,omitempty"`
	Error       string `json:"error,omitempty"`
}

type balanceReport struct {
	Tokens  int            `json:"tokens"`
	Keys    []keyBalance   `json:"keys"`
	Orders  []orderBalance `json:"orders"`
	Dropped int            `json:"expired_dropped,omitempty"`
	// InFlight counts the tokens of batches sent to an issuer whose answer
	// never arrived (saved in the wallet; `refill` finishes them).
	InFlight int `json:"tokens_in_flight,omitempty"`
	// credit: the issuers were asked (--credit); else the wallet knows no
	// credit and the table has no CREDIT column.
	credit bool
}

func (a *App) balance(ctx context.Context, g *globals, credit bool) error {
	s, err := a.open(g)
	if err != nil {
		return err
	}
	rep := balanceReport{Keys: []keyBalance{}, Orders: []orderBalance{}, credit: credit}
	if rep.Dropped, err = dropExpired(s.w, a.Now()); err != nil {
		return err
	}
	bs, err := s.w.Balance()
	if err != nil {
		return err
	}
	for _, b := range bs {
		kb := keyBalance{IssuerName: b.IssuerName, TokenKeyID: hex.EncodeToString(b.TokenKeyID), Tokens: b.Count}
		if !b.RedeemUntil.IsZero() {
			t := b.RedeemUntil.UTC()
			kb.RedeemUntil = &t
		}
		rep.Keys = append(rep.Keys, kb)
		rep.Tokens += b.Count
	}
	orders, err := s.w.Orders()
	if err != nil {
		return err
	}
	for _, o := range orders {
		ob := orderBalance{IssuerURL: o.IssuerURL, OrderID: o.OrderID, Voucher: o.Voucher, Plan: o.Plan, Exhausted: o.Exhausted}
		if credit && !o.Exhausted {
			st, err := s.c.OrderStatus(ctx, o.IssuerURL, o.Secret)
			var un *client.UnreachableError
			switch {
			case errors.As(err, &un):
				ob.Error = "no answer: " + reason(un.Err)
			case err != nil:
				ob.Error = err.Error()
			default:
				ob.Status, ob.Credits = st.Status, &st.CreditsRemaining
				if st.Status == client.StatusPending {
					ob.CheckoutURL = o.CheckoutURL
				}
			}
		}
		rep.Orders = append(rep.Orders, ob)
	}
	pending, err := s.w.PendingBatches("")
	if err != nil {
		return err
	}
	for _, p := range pending {
		rep.InFlight += p.Count
	}
	if g.json {
		return a.printJSON(rep)
	}
	a.printBalance(rep)
	return nil
}

// dropExpired removes tokens whose key has expired, saving only when there
// are some (a save of an encrypted wallet costs a second).
func dropExpired(w *wallet.Wallet, now time.Time) (int, error) {
	all, err := w.Count(wallet.Filter{})
	if err != nil {
		return 0, err
	}
	live, err := w.Count(wallet.Filter{Now: now})
	if err != nil || live == all {
		return 0, err
	}
	return w.DropExpired(now)
}

func (a *App) printBalance(rep balanceReport) {
	fmt.Fprintln(a.stdout, count(rep.Tokens, "token", "tokens"))
	if len(rep.Keys) > 0 {
		tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ISSUER\tKEY\tTOKENS\tUSABLE UNTIL")
		for _, k := range rep.Keys {
			until := "unknown"
			if k.RedeemUntil != nil {
				until = localTime(*k.RedeemUntil)
			}
			fmt.Fprintf(tw, "  %s\t%s…\t%d\t%s\n", k.IssuerName, k.TokenKeyID[:12], k.Tokens, until)
		}
		_ = tw.Flush()
	}
	if rep.Dropped > 0 {
		fmt.Fprintf(a.stdout, "%s of expired keys dropped.\n", count(rep.Dropped, "token", "tokens"))
	}
	if rep.InFlight > 0 {
		fmt.Fprintf(a.stdout, "%s of an interrupted fetch wait in the wallet: `blindpass refill` finishes it.\n", count(rep.InFlight, "token", "tokens"))
	}
	if rep.Tokens == 0 {
		fmt.Fprintln(a.stdout, "Get tokens with `blindpass buy --issuer URL --plan ID`, `blindpass voucher CODE`, or `blindpass refill`.")
	}
	if len(rep.Orders) == 0 {
		return
	}
	fmt.Fprintf(a.stdout, "%s:\n", count(len(rep.Orders), "order or voucher", "orders and vouchers"))
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	if rep.credit {
		fmt.Fprintln(tw, "  ISSUER\tORDER\tPLAN\tCREDIT")
	} else {
		fmt.Fprintln(tw, "  ISSUER\tORDER\tPLAN")
	}
	for _, o := range rep.Orders {
		name := o.OrderID
		if o.Voucher {
			name = "voucher " + name
		}
		state := ""
		switch {
		case o.Exhausted:
			state = "used up"
		case o.Error != "":
			state = "? (" + o.Error + ")"
		case o.Credits != nil:
			state = fmt.Sprintf("%d (%s)", *o.Credits, o.Status)
		}
		if !rep.credit {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", o.IssuerURL, name, o.Plan)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", o.IssuerURL, name, o.Plan, state)
	}
	_ = tw.Flush()
	if !rep.credit {
		fmt.Fprintln(a.stdout, "The credit left on them: `blindpass wallet balance --credit` or `blindpass orders` (both ask the issuers).")
	}
	for _, o := range rep.Orders {
		if o.CheckoutURL != "" {
			fmt.Fprintf(a.stdout, "%s waits for its payment: `blindpass orders pay %s --open`\n", o.OrderID, o.OrderID)
		}
	}
}
