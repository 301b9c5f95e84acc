// Package daemon is the command line of blindpassd: it parses flags and
// environment, opens stores, wires the roles together and serves them. It
// holds no protocol or business logic of its own.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/internal/cmdutil"
)

// Main runs blindpassd with args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "blindpassd:", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError struct{ error }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "blindpassd",
		Short: "Blindpass server: sell anonymous PRO access with Privacy Pass tokens",
		Long: `blindpassd runs the Blindpass roles.

  dev        everything in one process on loopback, embedded store, dev payments
  issuer     the issuer alone (keys, orders, payments, token issuance)
  redeemer   the redeemer alone (token verification, spent set, premium gateway)
  admin      the operator console (admin add-user NAME makes its first user)
  vouchers   make prepaid voucher codes
  migrate    apply the database migrations
  keys       list or rotate the issuer's key epochs
  relay      an Oblivious HTTP relay (run by another organization)
  ohttp-keys list or rotate an OHTTP gateway's keys

In production each role takes --config FILE (YAML; examples in deploy/config) and every
key of it can be overridden by BLINDPASS_<ROLE>_<KEY>, e.g. BLINDPASS_ISSUER_PUBLIC_URL.
The roles serve /healthz and /readyz, and Prometheus /metrics and /debug/pprof on their
metrics_addr; SIGTERM drains in-flight requests and streams. See docs/operating.md.

Environment for the flags of dev, migrate and keys: BLINDPASS_DATABASE_URL (Postgres URL;
empty = embedded SQLite in the data directory), BLINDPASS_DATA_DIR, BLINDPASS_KEK_FILE.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())}
	})
	root.AddCommand(
		newDevCmd(),
		newIssuerCmd(),
		newRedeemerCmd(),
		newMigrateCmd(),
		newKeysCmd(),
		newAdminCmd(),
		newBenchCmd(),
		newVouchersCmd(),
		newProbeCmd(),
		newRelayCmd(),
		newOHTTPKeysCmd(),
	)
	cmdutil.RequireSubcommand(root, func(err error) error { return usageError{err} })
	return root
}

func newLogger(w io.Writer, json bool) *slog.Logger {
	if json {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
