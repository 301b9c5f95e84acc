package cli

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/ohttp/transport"
)

// The network privacy settings (docs/privacy-network.md).
const (
	envRelay  = "BLINDPASS_RELAY"
	envSOCKS5 = "BLINDPASS_SOCKS5"
	// relayOff given as --relay forgets a remembered relay.
	relayOff = "none"
)

// setupNetwork routes the session's requests: through the Oblivious HTTP
// relay of --relay, BLINDPASS_RELAY or the wallet (remembered once used),
// and/or through the SOCKS5 proxy of --socks5 or BLINDPASS_SOCKS5 (Tor:
// socks5h://127.0.0.1:9050, so names are resolved by Tor too).
func (s *session) setupNetwork() error {
	a, g := s.app, s.g
	relay, from := g.relay, "--relay"
	if relay == "" {
		relay, from = a.env(envRelay), envRelay
	}
	if relay == "" {
		relay, from = s.settings.RelayURL, "the wallet's remembered relay"
	}
	socks := g.socks5
	if socks == "" {
		socks = a.env(envSOCKS5)
	}
	if relay == "" && socks == "" {
		return nil
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	if t, ok := a.HTTP.Transport.(*http.Transport); ok && t != nil {
		base = t.Clone()
	}
	if socks != "" {
		u, err := url.Parse(socks)
		if err != nil || (u.Scheme != "socks5" && u.Scheme != "socks5h") || u.Host == "" {
			return usageErrorf("--socks5 %q must be socks5://host:port or socks5h://host:port (Tor: socks5h://127.0.0.1:9050)", socks)
		}
		base.Proxy = http.ProxyURL(u)
		a.route, a.routeFrom = "the SOCKS5 proxy "+socks, "--socks5 or "+envSOCKS5
	}
	var rt http.RoundTripper = base
	if relay == relayOff {
		relay = ""
	}
	if relay != "" {
		u, err := normalizeURL(relay)
		if err != nil {
			return usageErrorf("%s: %v", from, err)
		}
		tr, err := transport.New(u, base)
		if err != nil {
			return usageErrorf("%s: %v", from, err)
		}
		rt, relay = tr, u
		a.route, a.routeFrom = "the Oblivious HTTP relay at "+u, from
	}
	hc := *a.HTTP
	hc.Transport = rt
	s.c.HTTP = &hc
	if g.relay != "" && s.settings.RelayURL != relay {
		err := s.w.Update(func(st *wallet.State) error {
			st.Settings.RelayURL = relay
			return nil
		})
		if err != nil {
			return fmt.Errorf("remember the relay in the wallet: %w", err)
		}
		s.settings.RelayURL = relay
	}
	return nil
}
