package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/mockmodel"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/redeemer"
	"github.com/blindpass/blindpass/web"
)

// webLine is the banner's line for the web chat ("" when it is off).
func webLine(webURL string) string {
	if webURL == "" {
		return ""
	}
	return "  web chat    " + webURL + "/   buy and chat in a browser\n"
}

type devOptions struct {
	storage
	issuerAddr   string
	redeemerAddr string
	mockAddr     string
	models       devModels
	issuerName   string
	origins      []string
	jsonLogs     bool
	logRequests  bool
	adminAddr    string
	relayAddr    string
	webAddr      string
}

func newDevCmd() *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run issuer, redeemer, gateway and a mock premium model in one process on loopback",
		Long: `dev runs the whole of Blindpass in one process for trying it out and for development:
the issuer with dev payments (a local checkout page whose Pay button marks an order paid),
the redeemer with the premium gateway, and a built-in mock premium model.

With no --database-url the state lives in embedded SQLite files in --data-dir, so nothing
needs to be installed; a restart keeps orders, keys and the spent-token set. Two dev
processes pointed at one Postgres database share keys and the spent set.

Never expose dev mode to a network: its payments are free.`,
		Example: `  blindpassd dev
  blindpassd dev --upstream http://127.0.0.1:11434/v1          # a local Ollama, its first model
  blindpassd dev --upstream https://api.openai.com/v1 --upstream-models pro=gpt-4o-mini,max=gpt-4o --upstream-key-file ~/.openai-key
  blindpassd dev --models models.yaml                           # the redeemer's gateway section
  blindpassd dev --data-dir /tmp/bp --database-url postgres://postgres@127.0.0.1:5432/blindpass`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.storage.register(f)
	f.StringVar(&o.issuerAddr, "issuer-addr", "127.0.0.1:8700", "listen address of the issuer")
	f.StringVar(&o.redeemerAddr, "redeemer-addr", "127.0.0.1:8701", "listen address of the redeemer and premium gateway")
	f.StringVar(&o.mockAddr, "mock-addr", "127.0.0.1:0", "listen address of the built-in mock premium model")
	o.models.register(f)
	f.StringVar(&o.relayAddr, "relay-addr", "", "listen address of an Oblivious HTTP relay to the dev gateways (empty: off; for trying --relay, it hides nothing in one process)")
	f.StringVar(&o.issuerName, "issuer-name", "", "issuer_name in token challenges (default: the issuer's host:port)")
	f.StringSliceVar(&o.origins, "origin", nil, "origin name(s) in the redeemer's challenge (default: the redeemer's host:port)")
	f.BoolVar(&o.jsonLogs, "json-logs", false, "log JSON instead of text")
	f.BoolVar(&o.logRequests, "log-requests", false, "log every request (default: only failed ones other than 401, the challenge every client probes for)")
	f.StringVar(&o.adminAddr, "admin-addr", "127.0.0.1:8702", "listen address of the admin console (empty: off); a one-time sign-in link is printed")
	f.StringVar(&o.webAddr, "web-addr", "127.0.0.1:8703", "listen address of the web chat (empty: off); the issuer and redeemer allow its origin (CORS)")
	registerPayments(cmd, paymentsDev)
	return cmd
}

func runDev(ctx context.Context, o devOptions, stdout, stderr io.Writer) error {
	logger := newLogger(stderr, o.jsonLogs)
	if !o.logRequests {
		logger = slog.New(quietRequests{logger.Handler()})
	}
	kek, err := o.kek(true)
	if err != nil {
		return err
	}
	st, err := o.open(ctx, true, true, true)
	if err != nil {
		return err
	}
	defer st.Close()

	issLn, issURL, err := listen(o.issuerAddr)
	if err != nil {
		return err
	}
	redLn, redURL, err := listen(o.redeemerAddr)
	if err != nil {
		return err
	}
	mockLn, mockURL, err := listen(o.mockAddr)
	if err != nil {
		return err
	}
	var webLn net.Listener
	var webURL string
	var webOrigins []string
	if o.webAddr != "" {
		// Like the console: a busy address (another dev process) turns the
		// web chat off rather than stopping the service.
		if webLn, webURL, err = listen(o.webAddr); err != nil {
			logger.Warn("web chat off", "error", err.Error())
			webLn, webURL = nil, ""
		} else {
			webOrigins = []string{webURL}
		}
	}

	km, err := keys.NewManager(st.issuer, kek, keys.Policy{}, logger, time.Now)
	if err != nil {
		return err
	}
	if err := km.Ensure(ctx); err != nil {
		return fmt.Errorf("issuer keys: %w", err)
	}
	iss, err := newPaymentsIssuer(ctx, issuer.Config{Name: o.issuerName, PublicURL: issURL, ReturnURL: webURL,
		Middleware: []echo.MiddlewareFunc{httpx.CORS(webOrigins, issuerWebRoutes...)}}, st.issuer, km, logger, issuer.DevPlans(), nil)
	if err != nil {
		return err
	}

	origins := o.origins
	if len(origins) == 0 {
		origins = []string{redLn.Addr().String()}
	}
	gwCfg, warnings, err := o.models.gatewayConfig(ctx, mockURL+"/v1")
	if err != nil {
		return err
	}
	for _, w := range warnings {
		logger.Warn("upstream model not listed: " + w)
	}
	red, err := redeemer.New(redeemer.Config{IssuerURL: issURL, IssuerName: o.issuerName, Origins: origins,
		UndoWithin: undoWithin(gwCfg)}, st.redeemer, logger, time.Now)
	if err != nil {
		return err
	}
	gw, err := gateway.New(gwCfg, red, logger)
	if err != nil {
		return err
	}
	e := httpx.NewEcho(logger)
	e.Use(httpx.CORS(webOrigins, redeemerWebRoutes...))
	red.Register(e)
	gw.Register(e)
	issH, redH, relay, err := devOHTTP(o, kek, iss.Handler(), e, issURL, redURL, logger)
	if err != nil {
		return err
	}

	g, ctx := errgroup.WithContext(ctx)
	relayLine := "" // in the banner, next to the other URLs
	g.Go(func() error { return httpx.Serve(ctx, issLn, issH, httpx.DefaultTimeouts, logger) })
	g.Go(func() error { return httpx.Serve(ctx, redLn, redH, httpx.StreamingTimeouts, logger) })
	if relay != nil {
		g.Go(func() error { return httpx.Serve(ctx, relay.ln, relay.h, httpx.StreamingTimeouts, logger) })
		relayLine = fmt.Sprintf("  OHTTP relay %s   blindpass --relay %s …\n", relay.url, relay.url)
	}
	g.Go(func() error { return httpx.Serve(ctx, mockLn, mockmodel.Handler(), httpx.StreamingTimeouts, logger) })
	g.Go(func() error { return km.Run(ctx) })
	g.Go(func() error { return iss.RunPruner(ctx) })
	g.Go(func() error { return red.Run(ctx) })
	g.Go(func() error { return runDevAdmin(ctx, o.adminAddr, st, km, stdout, logger) })
	if webLn != nil {
		h := web.Handler(web.Config{IssuerURL: issURL, RedeemerURL: redURL})
		g.Go(func() error { return httpx.Serve(ctx, webLn, h, httpx.DefaultTimeouts, logger) })
	}

	fmt.Fprintf(stdout, `Blindpass dev is running (state: %s)
  issuer      %s   directory %s/.well-known/private-token-issuer-directory
  redeemer    %s   POST /v1/redeem, OpenAI-compatible /v1/chat/completions, /v1/models
  models      %s
%s%sBuy tokens:   blindpass buy --issuer %s --redeemer %s --plan starter
Chat:         blindpass chat --redeemer %s --model %s "hello"
Dev payments are free: never expose this process to a network. Ctrl-C stops it.
`, o.describe(), issURL, issURL, redURL, describeModels(gwCfg), webLine(webURL), relayLine, issURL, redURL, redURL, chatModel(gwCfg))

	return ignoreCancel(g.Wait())
}
