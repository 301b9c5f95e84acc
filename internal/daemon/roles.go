package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/redeemer"
)

func newIssuerCmd() *cobra.Command {
	var (
		st        storage
		addr      string
		publicURL string
		name      string
		maxBatch  int
		jsonLogs  bool
	)
	cmd := &cobra.Command{
		Use:   "issuer",
		Short: "Run the issuer role: key epochs, orders, payments and token issuance",
		Long: `issuer serves the issuer directory, plans, orders and blind-signed token issuance.
It needs the key-encryption key (--kek-file) and, in production, a Postgres database
already migrated with 'blindpassd migrate'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			logger := newLogger(cmd.ErrOrStderr(), jsonLogs)
			if publicURL == "" {
				return usageError{errors.New("--public-url is required (the URL clients reach this issuer at)")}
			}
			kek, err := st.kek(false)
			if err != nil {
				return err
			}
			stores, err := st.open(ctx, true, false, false)
			if err != nil {
				return err
			}
			defer stores.Close()
			km, err := keys.NewManager(stores.issuer, kek, keys.Policy{}, logger, time.Now)
			if err != nil {
				return err
			}
			if err := km.Ensure(ctx); err != nil {
				return fmt.Errorf("issuer keys: %w", err)
			}
			iss, err := newPaymentsIssuer(ctx, issuer.Config{Name: name, PublicURL: publicURL, MaxBatch: maxBatch}, stores.issuer, km, logger, nil, nil)
			if err != nil {
				return err
			}
			ln, _, err := listen(addr)
			if err != nil {
				return err
			}
			logger.Info("issuer listening", "addr", ln.Addr().String(), "public_url", publicURL, "state", st.describe())
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return httpx.Serve(ctx, ln, iss.Handler(), httpx.DefaultTimeouts, logger) })
			g.Go(func() error { return km.Run(ctx) })
			return ignoreCancel(g.Wait())
		},
	}
	f := cmd.Flags()
	st.register(f)
	f.StringVar(&addr, "addr", "127.0.0.1:8700", "listen address")
	f.StringVar(&publicURL, "public-url", "", "base URL clients use to reach the issuer (required)")
	f.StringVar(&name, "name", "", "issuer_name in token challenges (default: host of --public-url)")
	f.IntVar(&maxBatch, "max-batch", 100, "most token requests in one batch")
	f.BoolVar(&jsonLogs, "json-logs", true, "log JSON")
	registerPayments(cmd, "issuer")
	return cmd
}

func newRedeemerCmd() *cobra.Command {
	var (
		st        storage
		addr      string
		issuerURL string
		origins   []string
		jsonLogs  bool
	)
	cmd := &cobra.Command{
		Use:   "redeemer",
		Short: "Run the redeemer role: token verification, the spent-token set and POST /v1/redeem",
		Long: `redeemer verifies tokens with the issuer's public keys only (read from the issuer
directory) and spends each once. It holds no private key and cannot read orders.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			logger := newLogger(cmd.ErrOrStderr(), jsonLogs)
			if issuerURL == "" || len(origins) == 0 {
				return usageError{errors.New("--issuer-url and --origin are required")}
			}
			stores, err := st.open(ctx, false, true, false)
			if err != nil {
				return err
			}
			defer stores.Close()
			red, err := redeemer.New(redeemer.Config{IssuerURL: issuerURL, Origins: origins}, stores.redeemer, logger, time.Now)
			if err != nil {
				return err
			}
			ln, _, err := listen(addr)
			if err != nil {
				return err
			}
			e := httpx.NewEcho(logger)
			red.Register(e)
			logger.Info("redeemer listening", "addr", ln.Addr().String(), "issuer", issuerURL, "state", st.describe())
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return httpx.Serve(ctx, ln, e, httpx.StreamingTimeouts, logger) })
			g.Go(func() error { return red.Run(ctx) })
			return ignoreCancel(g.Wait())
		},
	}
	f := cmd.Flags()
	st.register(f)
	f.StringVar(&addr, "addr", "127.0.0.1:8701", "listen address")
	f.StringVar(&issuerURL, "issuer-url", "", "base URL of the issuer whose directory lists the keys (required)")
	f.StringSliceVar(&origins, "origin", nil, "origin name(s) in the token challenge, e.g. chat.example (required)")
	f.BoolVar(&jsonLogs, "json-logs", true, "log JSON")
	return cmd
}

// ignoreCancel treats the end of a run by signal as success.
func ignoreCancel(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
