// Package cli is the command line of blindpass, the end user's side of
// Blindpass: buying tokens, redeeming vouchers, keeping the wallet, chatting
// and serving a local OpenAI-compatible proxy. It is built on the Go SDK
// (package client) and its wallet (client/wallet) and holds no protocol
// logic of its own.
//
// Exit codes: 0 success, 1 error, 2 usage error (unknown command or flag,
// missing argument or URL).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/client/wallet"
	"github.com/blindpass/blindpass/internal/cmdutil"
)

// Exit codes of blindpass.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// App is blindpass with its surroundings. Main builds one from the
// process; tests build their own. Zero fields take the process defaults.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (nil: os.Getenv). See env.go for the
	// variables.
	Getenv func(string) string
	// HTTP sends every request (nil: a client without overall timeout, since
	// model answers stream for long).
	HTTP *http.Client
	// WalletOptions are passed to wallet.Open (tests lower the scrypt work
	// factor).
	WalletOptions []wallet.Option
	// OpenURL opens a URL in the browser (nil: xdg-open, or open on macOS).
	OpenURL func(url string) error
	// PollInterval is how often buy polls the order while waiting for the
	// payment (0: 2s).
	PollInterval time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	// stdout and stderr are Stdout and Stderr through the terminal filter
	// (sanitize.go): every message for a person is printed through them.
	stdout, stderr io.Writer
	// urlFrom says where each server URL of the command came from.
	urlFrom map[string]string
	// route is how requests leave (network.go): empty for directly, else
	// "the Oblivious HTTP relay at URL" or "the SOCKS5 proxy URL", and
	// routeFrom where that setting came from.
	route, routeFrom string
}

// Main runs blindpass with the process's arguments, streams and
// environment and returns the exit code. Ctrl-C and SIGTERM cancel the
// running command.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	return a.Run(ctx, args)
}

// Run runs one blindpass command line and returns the exit code. Errors are
// printed to Stderr with what to do next.
func (a *App) Run(ctx context.Context, args []string) int {
	a.defaults()
	root := a.newRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(a.stderr, "blindpass:", a.explain(err))
	if isUsage(err) {
		return ExitUsage
	}
	return ExitError
}

func (a *App) defaults() {
	if a.Stdin == nil {
		a.Stdin = strings.NewReader("")
	}
	if a.Stdout == nil {
		a.Stdout = io.Discard
	}
	if a.Stderr == nil {
		a.Stderr = io.Discard
	}
	if a.Getenv == nil {
		a.Getenv = os.Getenv
	}
	if a.HTTP == nil {
		a.HTTP = &http.Client{}
	}
	if a.OpenURL == nil {
		a.OpenURL = openBrowser
	}
	if a.PollInterval <= 0 {
		a.PollInterval = 2 * time.Second
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	a.stdout, a.stderr = newSafeWriter(a.Stdout), newSafeWriter(a.Stderr)
}

// globals are the flags every command has.
type globals struct {
	walletPath string
	json       bool
	verbose    bool
	relay      string // --relay: an Oblivious HTTP relay (network.go)
	socks5     string // --socks5: a SOCKS5 proxy such as Tor
}

func (a *App) newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "blindpass",
		Short: "Anonymous PRO access with Privacy Pass tokens: buy, keep and spend them",
		Long: `blindpass buys Privacy Pass tokens from a Blindpass issuer, keeps them in a local wallet and
spends them at a Blindpass redeemer: one token per premium request, no account, no API key.
The issuer knows who paid, the redeemer knows what was asked; blind signatures keep the two apart.

  buy       order a plan, pay in the browser, fetch the tokens
  voucher   turn a prepaid voucher code into tokens
  refill    turn the remaining credit of your orders into tokens
  orders    list your orders; pay a pending one later, or forget one
  wallet    balance, export, import, encrypt
  chat      ask a premium model from the terminal
  proxy     a local OpenAI-compatible endpoint for any app, paying with tokens

Environment: BLINDPASS_WALLET (wallet file), BLINDPASS_ISSUER, BLINDPASS_REDEEMER (URLs),
BLINDPASS_PASSPHRASE (passphrase of an encrypted wallet; asked for when unset).
The issuer and redeemer URLs you use are remembered in the wallet.

Exit codes: 0 success, 1 error, 2 usage error.`,
		Example: `  blindpass buy --issuer http://127.0.0.1:8700 --redeemer http://127.0.0.1:8701 --plan starter --open
  blindpass chat --model blindpass-pro "What is Privacy Pass?"
  blindpass proxy      # then point your app at http://127.0.0.1:8787/v1 with any API key`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(a.Stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%w\nrun '%s --help' for usage", err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.walletPath, "wallet", "", "wallet file (env "+envWallet+"; default "+defaultWalletHint()+")")
	pf.BoolVar(&g.json, "json", false, "print machine-readable JSON on stdout")
	pf.StringVar(&g.relay, "relay", "", "send every request through this Oblivious HTTP relay, e.g. https://relay.example (env "+envRelay+"; remembered in the wallet; 'none' forgets it)")
	pf.StringVar(&g.socks5, "socks5", "", "connect through this SOCKS5 proxy, e.g. Tor at socks5h://127.0.0.1:9050 (env "+envSOCKS5+")")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log the SDK's requests and retries to stderr (never secrets or tokens)")
	root.AddCommand(
		a.newBuyCmd(g),
		a.newVoucherCmd(g),
		a.newRefillCmd(g),
		a.newOrdersCmd(g),
		a.newWalletCmd(g),
		a.newChatCmd(g),
		a.newProxyCmd(g),
	)
	cmdutil.RequireSubcommand(root, func(err error) error { return usageError{err} })
	return root
}

func defaultWalletHint() string {
	p, err := wallet.DefaultPath()
	if err != nil {
		return "the user config directory"
	}
	return p
}

// usageError marks an error as a usage mistake (exit code 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// isUsage reports whether err is a usage mistake, including cobra's own
// (unknown command).
func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "required flag")
}

// args wraps a cobra argument check so that its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageErrorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())
		}
		return nil
	}
}
