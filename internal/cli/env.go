package cli

import (
	"fmt"
	"net/url"
	"strconv"
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
	// envMaxCost is the most tokens one request may cost (default
	// client.DefaultMaxCost): a redeemer asking more is refused.
	envMaxCost = "BLINDPASS_MAX_COST"
)

// maxCost is BLINDPASS_MAX_COST (0: the SDK's default).
func (a *App) maxCost() (int, error) {
	v := a.env(envMaxCost)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, usageErrorf("%s=%q: want a positive number of tokens", envMaxCost, v)
	}
	return n, nil
}

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
// one remembered in the wallet. It returns "" when none is known, and
// remembers where the URL came from for error messages.
func (a *App) resolveURL(s service, flagValue, remembered string) (string, error) {
	v, from, source := flagValue, s.flag, s.flag
	if v == "" {
		v, from, source = a.env(s.env), s.env, s.env
	}
	if v == "" {
		v, from, source = remembered, "the wallet's remembered "+s.name, "wallet"
	}
	if v == "" {
		return "", nil
	}
	u, err := normalizeURL(v)
	if err != nil {
		return "", usageErrorf("%s URL from %s: %w", s.name, from, err)
	}
	a.noteURL(u, source)
	return u, nil
}

// noteURL records where a base URL came from ("--issuer", an environment
// variable, "wallet" or "order"), for the messages of explain.
func (a *App) noteURL(u, source string) {
	if a.urlFrom == nil {
		a.urlFrom = map[string]string{}
	}
	if _, ok := a.urlFrom[u]; !ok {
		a.urlFrom[u] = source
	}
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
// A URL without a scheme is refused with the URL it probably means (http
// for a loopback host, else https) rather than guessed: a guess could send
// an order secret over plain http, or fail against a dev server.
func normalizeURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		host, _, _ := strings.Cut(s, "/")
		scheme := "https"
		if loopbackHost(hostOf(host)) {
			scheme = "http"
		}
		return "", fmt.Errorf("%q has no scheme: write it as %s://%s", s, scheme, s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid URL: want http(s)://host[:port][/path]", s)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q: want http(s)://host[:port][/path]", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}
