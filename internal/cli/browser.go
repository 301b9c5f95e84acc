package cli

import (
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
)

// openable checks a URL a server gave (the checkout URL) before it goes to
// the desktop's opener, which would hand file:, smb:, ms-msdt: and any other
// registered scheme to its program. Allowed: https to any host, and http
// only to a loopback host (dev mode's checkout page); never a user name or
// password in the URL (https://pay.example@evil.example). It returns the
// URL as re-encoded by net/url.
func openable(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not opening the checkout URL: it is not a valid URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("not opening the checkout URL: its scheme %q is not https", u.Scheme+":")
	case u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("not opening the checkout URL: it names no host")
	case u.User != nil:
		return "", fmt.Errorf("not opening the checkout URL: it carries a user name (a way to disguise the host)")
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return "", fmt.Errorf("not opening the checkout URL: plain http is allowed only to this computer (loopback), not to %s", u.Hostname())
	}
	return u.String(), nil
}

// openCheckout opens a checkout URL in the browser if it is openable, and
// otherwise says why not on stderr (the URL was printed for the user).
func (a *App) openCheckout(raw string) {
	u, err := openable(raw)
	if err != nil {
		fmt.Fprintf(a.stderr, "%v; check the URL printed above before you use it\n", err)
		return
	}
	if err := a.OpenURL(u); err != nil {
		fmt.Fprintf(a.stderr, "could not open the browser (%v): open the URL above yourself\n", err)
	}
}

// openBrowser opens url with the desktop's opener: open on macOS,
// rundll32 on Windows, xdg-open elsewhere. It does not wait for the browser.
// Callers pass only URLs that openable accepted.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
