package cli

import (
	"fmt"
	"net/url"
	"strings"
)

// The environment variables blindpass reads, here and nowhere else.
const (
	envWallet     = "BLINDPASS_WALLET"
	envIssuer     = "BLINDPASS_ISSUER"
	envRedeemer   = "BLINDPASS_REDEEMER"
	envPassphrase = "BLINDPASS_PASSPHRASE"
	// envNewPassphrase is the new passphrase of `wallet encrypt` and of
	// `wallet export --encrypt`.
	envNewPassphrase = "BLINDPASS_NEW_PASSPHRASE"
	// envFilePassphrase is the passphrase of a file to `wallet import`
	// when it differs from the wallet's.
	envFilePassphrase = "BLINDPASS_FILE_PASSPHRASE"
)

func (a *App) env(name string) string { return strings.TrimSpace(a.Getenv(name)) }

// walletPath is --wallet, else BLINDPASS_WALLET, else "" (the default path).
func (a *App) walletPath(g *globals) string {
	if g.walletPath != "" {
		return g.walletPath
	}
	return a.env(envWallet)
}

// service names a server kind for URL resolution and messages.
type service struct {
	name string // "issuer" or "redeemer"
	flag string // "--issuer"
	env  string
}

var (
	issuerService   = service{"issuer", "--issuer", envIssuer}
	redeemerService = service{"redeemer", "--redeemer", envRedeemer}
)

// resolveURL picks a server URL: the flag, else the environment, else the
// one remembered in the wallet. It returns "" when none is known.
func (a *App) resolveURL(s service, flagValue, remembered string) (string, error) {
	v := flagValue
	from := s.flag
	if v == "" {
		v, from = a.env(s.env), s.env
	}
	if v == "" {
		v, from = remembered, "the wallet's remembered "+s.name
	}
	if v == "" {
		return "", nil
	}
	u, err := normalizeURL(v)
	if err != nil {
		return "", usageErrorf("%s URL from %s: %w", s.name, from, err)
	}
	return u, nil
}

// needURL is resolveURL for a command that cannot work without the URL.
func (a *App) needURL(s service, flagValue, remembered, command string) (string, error) {
	u, err := a.resolveURL(s, flagValue, remembered)
	if err != nil || u != "" {
		return u, err
	}
	return "", usageErrorf("%s needs the %s's URL: pass %s URL or set %s (it is remembered in the wallet after first use)",
		command, s.name, s.flag, s.env)
}

// normalizeURL checks a base URL (http or https, a host, no query) and
// writes it the way the SDK stores it in the wallet: no trailing slash.
func normalizeURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q: want http(s)://host[:port][/path]", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}
