package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

type proxyOptions struct {
	listen, redeemer, issuer string
	allowRemote              bool
	refillBelow              int
	refillDelay              time.Duration
}

func (a *App) newProxyCmd(g *globals) *cobra.Command {
	var o proxyOptions
	cmd := &cobra.Command{
		Use:   "proxy [--listen 127.0.0.1:8787] [--redeemer URL] [--issuer URL]",
		Short: "Serve a local OpenAI-compatible endpoint that pays with your tokens",
		Long: `proxy serves http://127.0.0.1:8787/v1, an OpenAI-compatible endpoint for any app: point the app's
base URL at it and give it any API key (it is ignored). Each request is forwarded to the
redeemer's gateway with as many tokens as the model costs (from the gateway's /v1/models);
streams pass through as they arrive.

Only the request body goes on, less the identifier fields user, safety_identifier,
prompt_cache_key and metadata: the app's Authorization, User-Agent, cookies and every other
header are dropped.

One app request is paid once: when an answer does not reach the app whole (an error, a timeout,
a stream cut before [DONE]), its tokens are kept for the app's retry of the exact same request
for the redeemer's replay window, so an SDK's automatic retries spend nothing more. Tokens go
back to the wallet only when the redeemer says they were not consumed. Errors are in OpenAI's
error shape. The proxy binds to loopback and answers only loopback host names; a
non-loopback --listen is refused unless --allow-remote (whoever reaches it spends your tokens).

When fewer than --refill-below usable tokens remain and your orders have credit left, the proxy
fetches more in the background, after a random delay of up to --refill-delay so the fetch does
not follow a request in time. --issuer limits refills to that issuer's orders.`,
		Example: `  blindpass proxy --redeemer http://127.0.0.1:8701
  OPENAI_BASE_URL=http://127.0.0.1:8787/v1 OPENAI_API_KEY=unused some-openai-app`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.proxy(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8787", "address to serve on (loopback unless --allow-remote)")
	f.StringVar(&o.redeemer, "redeemer", "", "redeemer URL (env "+envRedeemer+"; default: remembered)")
	f.StringVar(&o.issuer, "issuer", "", "refill only from this issuer's orders (env "+envIssuer+"; default: all in the wallet)")
	f.BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback --listen address and any Host header")
	f.IntVar(&o.refillBelow, "refill-below", 20, "refill in the background when fewer usable tokens remain (0: never)")
	f.DurationVar(&o.refillDelay, "refill-delay", 30*time.Second, "most random delay before a background refill")
	return cmd
}

func (a *App) proxy(ctx context.Context, g *globals, o proxyOptions) error {
	if err := checkListen(o.listen, o.allowRemote); err != nil {
		return err
	}
	if o.refillBelow < 0 || o.refillDelay < 0 {
		return usageErrorf("--refill-below and --refill-delay must not be negative")
	}
	s, err := a.open(g)
	if err != nil {
		return err
	}
	redeemer, err := a.needURL(redeemerService, o.redeemer, s.settings.RedeemerURL, "proxy")
	if err != nil {
		return err
	}
	issuer, err := a.resolveURL(issuerService, o.issuer, "")
	if err != nil {
		return err
	}
	models := &modelCache{c: s.c, redeemer: redeemer, now: a.Now}
	if _, err := models.cost(ctx, ""); err != nil {
		return err
	}
	s.remember("", redeemer)

	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	s.c.Logger = logger
	p := &proxy{c: s.c, redeemer: redeemer, models: models, allowRemote: o.allowRemote, logger: logger,
		noTokens: func(err error) error { return s.noTokens(redeemer, err) }}
	if o.refillBelow > 0 {
		p.refill = newRefiller(s, redeemer, issuer, o.refillBelow, o.refillDelay, logger)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: model answers stream for minutes.
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if p.refill != nil {
		go p.refill.run(ctx)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(a.stdout, "Blindpass proxy on %s → %s\nUse it as an OpenAI base URL with any API key. Ctrl-C stops it.\n", describeListen(ln.Addr().String()), redeemer)

	select {
	case err := <-served:
		return fmt.Errorf("proxy: %w", err)
	case <-ctx.Done():
	}
	shutCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("proxy shutdown: %w", err)
	}
	if n := s.c.Reserved(); n > 0 {
		// Kept in memory only (the wallet records nothing about requests).
		logger.Info("tokens kept for retries of unfinished requests are dropped (they may have been spent)", "tokens", n)
	}
	return nil
}
