package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/voucher"
)

type voucherOptions struct {
	issuer, redeemer string
	count            int
}

func (a *App) newVoucherCmd(g *globals) *cobra.Command {
	var o voucherOptions
	cmd := &cobra.Command{
		Use:   "voucher CODE --issuer URL [--redeemer URL] [--count N]",
		Short: "Turn a prepaid voucher code into tokens",
		Long: `voucher redeems a prepaid voucher code at the issuer that sold it: the code is kept in the wallet
like an order secret, and its credit is turned into tokens for the redeemer.

The code may be typed with or without its grouping dashes and spaces. With no redeemer known
(--redeemer, BLINDPASS_REDEEMER or remembered), the code is checked and kept, and
'blindpass refill --redeemer URL' fetches its tokens later.`,
		Example: `  blindpass voucher K7QF-93MZ-WX2P-4TDA-8NVB-Q --issuer https://pay.example --redeemer https://chat.example
  blindpass voucher K7QF93MZWX2P4TDA8NVBQ      # issuer and redeemer remembered`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a2 []string) error { return a.voucher(cmd.Context(), g, o, a2[0]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.issuer, "issuer", "", "issuer URL that sold the voucher (env "+envIssuer+"; default: remembered)")
	f.StringVar(&o.redeemer, "redeemer", "", "redeemer URL the tokens are for (env "+envRedeemer+"; default: remembered)")
	f.IntVar(&o.count, "count", 0, "tokens to fetch now (0: all the credit)")
	return cmd
}

func (a *App) voucher(ctx context.Context, g *globals, o voucherOptions, raw string) error {
	code := normalizeVoucher(raw)
	if code == "" {
		return usageErrorf("the voucher code is empty")
	}
	if _, err := voucher.Parse(code); errors.Is(err, voucher.ErrTypo) {
		return usageErrorf("%q is not a valid voucher code: %w", raw, err)
	}
	if o.count < 0 {
		return usageErrorf("--count must not be negative")
	}
	s, err := a.open(g)
	if err != nil {
		return err
	}
	issuer, err := a.needURL(issuerService, o.issuer, s.settings.IssuerURL, "voucher")
	if err != nil {
		return err
	}
	redeemer, err := s.redeemer(o.redeemer)
	if err != nil {
		return err
	}
	st, err := s.c.OrderStatus(ctx, issuer, code)
	if err != nil {
		return err
	}
	// Kept only once the issuer knows it, so a typo does not linger; and
	// once: a code the wallet holds under another spelling (an older
	// version kept what was typed) is the same order at the same issuer.
	err = s.w.Update(func(ws *wallet.State) error {
		for _, o := range ws.Orders {
			if o.IssuerURL == issuer && st.OrderID != "" && o.OrderID == st.OrderID {
				return nil
			}
		}
		_, err := ws.AddOrder(wallet.Order{IssuerURL: issuer, OrderID: st.OrderID, Secret: code, Voucher: true, Plan: st.Plan, Created: a.Now().UTC()})
		return err
	})
	if err != nil {
		return err
	}
	s.remember(issuer, redeemer)
	n := 0
	if redeemer != "" && st.CreditsRemaining > 0 {
		ch, err := s.challengeFor(ctx, issuer, redeemer)
		if err != nil {
			return fmt.Errorf("the voucher is kept in the wallet (`blindpass refill` fetches its tokens): %w", err)
		}
		if n, err = s.fetch(ctx, issuer, code, ch, o.count); err != nil {
			return fmt.Errorf("the voucher is kept in the wallet (`blindpass refill` fetches the rest): %w", err)
		}
	}
	left := st.CreditsRemaining - n
	if g.json {
		return a.printJSON(map[string]any{"order_id": st.OrderID, "status": st.Status, "tokens": n, "credits_remaining": left})
	}
	switch {
	case st.CreditsRemaining == 0:
		fmt.Fprintf(a.stdout, "The voucher (%s) has no credit left.\n", st.Status)
	case redeemer == "":
		fmt.Fprintf(a.stdout, "Voucher accepted: %s in the wallet. Run\n  blindpass refill --redeemer URL\nto turn them into tokens.\n", count(left, "credit waits", "credits wait"))
	default:
		fmt.Fprintf(a.stdout, "Voucher accepted: %s in your wallet for %s.\n", count(n, "token is", "tokens are"), redeemer)
		if left > 0 {
			fmt.Fprintf(a.stdout, "%s: `blindpass refill` turns them into tokens.\n", count(left, "credit remains", "credits remain"))
		}
	}
	return nil
}

// normalizeVoucher drops white space and, unless the code is an order
// secret (base64url of 32 bytes, where '-' is a letter), the grouping
// dashes; a valid voucher code is written in its one canonical spelling
// (upper case, O as 0, I and L as 1): the issuer accepts any of them, and
// one spelling keeps the wallet from holding the same voucher twice.
func normalizeVoucher(raw string) string {
	code := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, raw)
	if b, err := base64.RawURLEncoding.Strict().DecodeString(code); err == nil && len(b) == 32 {
		return code
	}
	code = strings.ReplaceAll(code, "-", "")
	if p, err := voucher.Parse(code); err == nil {
		return strings.ReplaceAll(voucher.Format([voucher.PayloadSize]byte(p)), "-", "")
	}
	return code
}
