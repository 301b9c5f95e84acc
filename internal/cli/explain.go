package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/client/wallet"
)

// explain is the message for an error that ended a command: the error and,
// where the SDK's kind says it, what to do next.
func (a *App) explain(err error) string {
	var (
		un  *client.UnreachableError
		wf  *walletFileError
		msg = err.Error()
	)
	hint := ""
	switch {
	case errors.As(err, &un):
		svc := issuerService
		if errors.Is(err, client.ErrRedeemerUnreachable) {
			svc = redeemerService
		}
		base := a.baseOf(un.URL)
		// One sentence instead of the SDK's "kind at URL: Get URL: dial URL".
		via := ""
		if a.route != "" {
			via = " through " + a.route
		}
		msg = strings.Replace(msg, un.Error(), fmt.Sprintf("the %s at %s did not answer%s (%s)", svc.name, base, via, reason(un.Err)), 1)
		hint = a.urlHint(svc, base)
		if a.route != "" {
			// A dead relay or proxy looks like a dead server: name it first.
			hint = fmt.Sprintf("requests go through %s (from %s): check that it runs, or pass --relay %s to forget a relay; otherwise %s", a.route, a.routeFrom, relayOff, hint)
		}
	case errors.As(err, &wf):
		hint = fmt.Sprintf("move the file aside and run the command again to start a new, empty wallet:\n      mv %s %s.damaged\n    then restore a backup, if you have one, with `blindpass wallet import BACKUP`;\n    or use another wallet file with --wallet FILE (or %s)",
			shellQuote(wf.path), shellQuote(wf.path), envWallet)
	case errors.Is(err, client.ErrUnknownSecret):
		hint = "check the voucher code for typos, and that --issuer names the issuer that sold it"
	case errors.Is(err, client.ErrKeyNotListed):
		hint = "the redeemer's token key is not one this issuer publishes: the two do not belong together (or the redeemer tries to tag you); use the redeemer and issuer of one service"
	case errors.Is(err, client.ErrChallengeChanged):
		hint = "the tokens for the remembered challenge stay in the wallet; nothing is spent at this redeemer until you accept the new challenge with `blindpass wallet trust-challenge`"
	case errors.Is(err, client.ErrCostTooHigh):
		hint = fmt.Sprintf("nothing was spent; if you trust this price, raise the limit with %s=N", envMaxCost)
	case errors.Is(err, client.ErrPendingUnusable):
		hint = "the batch stays in the wallet; run `blindpass refill` with the blindpass version that started it"
	case errors.Is(err, client.ErrBadDirectory), errors.Is(err, client.ErrBadChallenge), errors.Is(err, client.ErrBadIssuance):
		hint = "the server's answer was refused as unsafe or malformed; check the URL, and report it to the service if it persists"
	case errors.Is(err, wallet.ErrPassphraseRequired):
		hint = fmt.Sprintf("the wallet is encrypted: set %s, or run blindpass in a terminal to be asked", envPassphrase)
	case errors.Is(err, wallet.ErrWrongPassphrase):
		hint = fmt.Sprintf("check %s or the passphrase you typed", envPassphrase)
	case errors.Is(err, wallet.ErrCorrupt):
		hint = "the file is damaged or not a wallet export"
	}
	if hint == "" {
		return msg
	}
	return msg + "\n  → " + hint
}

// urlHint says where a server URL came from and how to change it.
func (a *App) urlHint(s service, base string) string {
	switch a.urlFrom[base] {
	case s.flag:
		return fmt.Sprintf("that URL comes from %s: check it and your connection, then try again", s.flag)
	case s.env:
		return fmt.Sprintf("that URL comes from %s in your environment: check it and your connection, then try again", s.env)
	case "wallet":
		return fmt.Sprintf("that URL is the %s remembered in the wallet: check your connection, or pass %s URL (or set %s) to use another", s.name, s.flag, s.env)
	case "order":
		return "that URL is the issuer an order in the wallet was made at: check your connection, then try again"
	}
	return "check the URL and your connection, then try again"
}

// baseOf finds the base URL a command resolved that the request URL u was
// made from (the SDK reports the full request URL), else u's origin.
func (a *App) baseOf(u string) string {
	best := ""
	for base := range a.urlFrom {
		if (u == base || strings.HasPrefix(u, base+"/")) && len(base) > len(best) {
			best = base
		}
	}
	if best != "" {
		return best
	}
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Scheme + "://" + p.Host
	}
	return u
}

// reason is the short cause of a failed request: "connection refused",
// "no such host x.example", "HTTP 503: …".
func reason(err error) string {
	var (
		pe  *client.ProblemError
		dns *net.DNSError
		sys *os.SyscallError
		ue  *url.Error
	)
	switch {
	case err == nil:
		return "no answer"
	case errors.As(err, &pe):
		s := fmt.Sprintf("HTTP %d", pe.Status)
		if pe.Detail != "" {
			s += ": " + pe.Detail
		}
		return s
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "no such host " + dns.Name
		}
		return "looking up " + dns.Name + " failed: " + dns.Err
	case errors.As(err, &sys):
		return sys.Err.Error()
	case errors.As(err, &ue) && ue.Timeout():
		return "timed out"
	case errors.As(err, &ue):
		return ue.Err.Error()
	}
	return err.Error()
}

// walletFileError is a wallet file that cannot be read as a wallet.
type walletFileError struct {
	path string
	err  error
}

func (e *walletFileError) Error() string {
	return fmt.Sprintf("the wallet file %s is damaged or not a wallet (%v)", e.path, e.err)
}

func (e *walletFileError) Unwrap() error { return e.err }

// shellQuote quotes a path for a command the user may paste.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '~' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
