package cli

import (
	"errors"
	"fmt"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/client/wallet"
)

// explain is the message for an error that ended a command: the error and,
// where the SDK's kind says it, what to do next.
func explain(err error) string {
	var un *client.UnreachableError
	hint := ""
	switch {
	case errors.As(err, &un) && errors.Is(err, client.ErrIssuerUnreachable):
		hint = fmt.Sprintf("the issuer at %s did not answer: check the URL (--issuer or %s) and your connection, then try again", un.URL, envIssuer)
	case errors.As(err, &un) && errors.Is(err, client.ErrRedeemerUnreachable):
		hint = fmt.Sprintf("the redeemer at %s did not answer: check the URL (--redeemer or %s) and your connection, then try again", un.URL, envRedeemer)
	case errors.Is(err, client.ErrUnknownSecret):
		hint = "check the voucher code for typos, and that --issuer names the issuer that sold it"
	case errors.Is(err, client.ErrKeyNotListed):
		hint = "the redeemer's token key is not one this issuer publishes: the two do not belong together (or the redeemer tries to tag you); use the redeemer and issuer of one service"
	case errors.Is(err, client.ErrBadDirectory), errors.Is(err, client.ErrBadChallenge), errors.Is(err, client.ErrBadIssuance):
		hint = "the server's answer was refused as unsafe or malformed; check the URL, and report it to the service if it persists"
	case errors.Is(err, wallet.ErrPassphraseRequired):
		hint = fmt.Sprintf("the wallet is encrypted: set %s, or run blindpass in a terminal to be asked", envPassphrase)
	case errors.Is(err, wallet.ErrWrongPassphrase):
		hint = fmt.Sprintf("check %s or the passphrase you typed", envPassphrase)
	case errors.Is(err, wallet.ErrCorrupt):
		hint = "the wallet file is damaged or not a wallet; point --wallet at the right file or restore an export with `blindpass wallet import`"
	}
	if hint == "" {
		return err.Error()
	}
	return err.Error() + "\n  → " + hint
}
