package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/term"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/client/wallet"
)

// cliRetries is how often a failed request is retried: fewer than the
// SDK's default, so a person at the terminal hears of a dead URL within
// seconds (a lost issuance answer is still retried with the same
// Idempotency-Key).
const cliRetries = 3

// session is one command's open wallet and SDK client.
type session struct {
	app      *App
	g        *globals
	w        *wallet.Wallet
	c        *client.Client
	pass     []byte          // the wallet's passphrase (nil: plain wallet)
	settings wallet.Settings // as read when the wallet was opened
}

// open opens the wallet (asking for its passphrase when it is encrypted
// and BLINDPASS_PASSPHRASE is unset) and makes the SDK client.
func (a *App) open(g *globals) (*session, error) {
	path := a.walletPath(g)
	pass := []byte(a.Getenv(envPassphrase))
	w, err := wallet.Open(path, pass, a.WalletOptions...)
	if errors.Is(err, wallet.ErrPassphraseRequired) && a.interactive() {
		if pass, err = a.askPassphrase("Wallet passphrase: "); err != nil {
			return nil, err
		}
		w, err = wallet.Open(path, pass, a.WalletOptions...)
	}
	if errors.Is(err, wallet.ErrCorrupt) {
		if path == "" {
			path, _ = wallet.DefaultPath()
		}
		if abs, aerr := filepath.Abs(path); aerr == nil {
			path = abs
		}
		return nil, &walletFileError{path: path, err: err}
	}
	if err != nil {
		return nil, err
	}
	s := &session{app: a, g: g, w: w}
	if len(pass) > 0 {
		s.pass = pass
	}
	maxCost, err := a.maxCost()
	if err != nil {
		return nil, err
	}
	s.c = &client.Client{Wallet: w, HTTP: a.HTTP, Logger: a.logger(g), Now: a.Now, Retries: cliRetries, MaxCost: maxCost}
	err = w.View(func(st *wallet.State) error {
		s.settings = st.Settings
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.setupNetwork(); err != nil {
		return nil, err
	}
	return s, nil
}

// remember stores the URLs a command used successfully as the wallet's
// defaults (only when they changed: saving an encrypted wallet costs a
// second of scrypt).
func (s *session) remember(issuerURL, redeemerURL string) {
	want := s.settings
	if issuerURL != "" {
		want.IssuerURL = issuerURL
	}
	if redeemerURL != "" {
		want.RedeemerURL = redeemerURL
	}
	if want == s.settings {
		return
	}
	err := s.w.Update(func(st *wallet.State) error {
		st.Settings = want
		return nil
	})
	if err != nil {
		s.app.logger(s.g).Warn("could not remember the URLs in the wallet", "error", err)
		return
	}
	s.settings = want
}

// issuer and redeemer resolve the URLs of a command (flag, environment,
// remembered).
func (s *session) issuer(flagValue string) (string, error) {
	return s.app.resolveURL(issuerService, flagValue, s.settings.IssuerURL)
}

func (s *session) redeemer(flagValue string) (string, error) {
	return s.app.resolveURL(redeemerService, flagValue, s.settings.RedeemerURL)
}

func (a *App) logger(g *globals) *slog.Logger {
	if !g.verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// interactive reports whether stdin is a terminal a passphrase can be
// asked on.
func (a *App) interactive() bool {
	f, ok := a.Stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminal reports whether w is a terminal (for progress bars).
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// askPassphrase reads a passphrase from the terminal without echo.
func (a *App) askPassphrase(prompt string) ([]byte, error) {
	f, ok := a.Stdin.(*os.File)
	if !ok {
		return nil, errors.New("no terminal to ask for a passphrase on")
	}
	fmt.Fprint(a.stderr, prompt)
	p, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	return p, nil
}

// newPassphrase is BLINDPASS_NEW_PASSPHRASE, or asked twice on the
// terminal.
func (a *App) newPassphrase(what string) ([]byte, error) {
	if p := a.Getenv(envNewPassphrase); p != "" {
		return []byte(p), nil
	}
	if !a.interactive() {
		return nil, usageErrorf("no passphrase: set %s or run in a terminal to be asked", envNewPassphrase)
	}
	p, err := a.askPassphrase("New passphrase for " + what + ": ")
	if err != nil {
		return nil, err
	}
	again, err := a.askPassphrase("Repeat it: ")
	if err != nil {
		return nil, err
	}
	if string(p) != string(again) {
		return nil, errors.New("the two passphrases differ")
	}
	return p, nil
}

// interrupted reports whether err comes from the command being interrupted.
func interrupted(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
