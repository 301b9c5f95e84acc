package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/payments/stripe"
	"github.com/blindpass/blindpass/voucher"
)

// Payment providers --payments takes. Vouchers are always accepted.
const (
	paymentsDev    = "dev"
	paymentsStripe = "stripe"
	paymentsNone   = "none"
)

// paymentOptions is how the issuer takes payments and which plans it
// sells. Flags default to environment variables, read here and nowhere
// else; the secrets themselves come only from the environment or files.
type paymentOptions struct {
	provider          string
	plansFile         string
	successURL        string
	cancelURL         string
	secretKeyFile     string
	webhookSecretFile string
	role              string // "dev" or "issuer"
}

// register adds the payment flags; def is the default provider.
func (p *paymentOptions) register(fs *pflag.FlagSet, def string) {
	if v := os.Getenv("BLINDPASS_PAYMENTS"); v != "" {
		def = v
	}
	fs.StringVar(&p.provider, "payments", def,
		`how new orders are paid: "stripe" (Stripe Checkout), "dev" (free local checkout page; dev only) or "none" (vouchers only) (env BLINDPASS_PAYMENTS)`)
	fs.StringVar(&p.plansFile, "plans", os.Getenv("BLINDPASS_PLANS_FILE"),
		"plans file (YAML or JSON) that seeds the plans table; see docs/payments.md (env BLINDPASS_PLANS_FILE)")
	fs.StringVar(&p.successURL, "stripe-success-url", os.Getenv("BLINDPASS_STRIPE_SUCCESS_URL"),
		"where Stripe Checkout sends the buyer after paying (env BLINDPASS_STRIPE_SUCCESS_URL)")
	fs.StringVar(&p.cancelURL, "stripe-cancel-url", os.Getenv("BLINDPASS_STRIPE_CANCEL_URL"),
		"where Stripe Checkout sends the buyer who cancels (env BLINDPASS_STRIPE_CANCEL_URL)")
	fs.StringVar(&p.secretKeyFile, "stripe-secret-key-file", os.Getenv("STRIPE_SECRET_KEY_FILE"),
		"file with the Stripe secret key, instead of env STRIPE_SECRET_KEY (env STRIPE_SECRET_KEY_FILE)")
	fs.StringVar(&p.webhookSecretFile, "stripe-webhook-secret-file", os.Getenv("STRIPE_WEBHOOK_SECRET_FILE"),
		"file with the webhook signing secret, instead of env STRIPE_WEBHOOK_SECRET (env STRIPE_WEBHOOK_SECRET_FILE)")
}

type paymentsKey struct{}

// registerPayments adds the payment flags to a role's command and hands
// their values to the role through its context (paymentsFrom).
func registerPayments(cmd *cobra.Command, role string) {
	p := &paymentOptions{role: role}
	def := paymentsNone
	if role == paymentsDev {
		def = paymentsDev
	}
	p.register(cmd.Flags(), def)
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		c.SetContext(context.WithValue(c.Context(), paymentsKey{}, p))
		return run(c, args)
	}
}

// paymentsFrom returns the options registerPayments put in ctx, or options
// from the environment alone.
func paymentsFrom(ctx context.Context) *paymentOptions {
	if p, ok := ctx.Value(paymentsKey{}).(*paymentOptions); ok {
		return p
	}
	p := &paymentOptions{role: "issuer"}
	p.register(pflag.NewFlagSet("env", pflag.ContinueOnError), paymentsNone)
	return p
}

// newPaymentsIssuer seeds the plans (the plans file, else defaults), adds
// the payment provider chosen in ctx's options to cfg and makes the issuer.
// webhooks counts webhook deliveries (nil: not counted).
func newPaymentsIssuer(ctx context.Context, cfg issuer.Config, st store.IssuerStore, km *keys.Manager,
	logger *slog.Logger, defaults []store.Plan, webhooks stripe.WebhookRecorder) (*issuer.Server, error) {
	p := paymentsFrom(ctx)
	plans := defaults
	if p.plansFile != "" {
		var err error
		if plans, err = issuer.LoadPlans(p.plansFile); err != nil {
			return nil, err
		}
	}
	if err := seedPlans(ctx, st, plans, logger); err != nil {
		return nil, err
	}
	cfg.DevPayments = false
	switch p.provider {
	case paymentsDev:
		if p.role != paymentsDev {
			return nil, usageError{errors.New(`--payments dev is for "blindpassd dev" only: its checkout is free`)}
		}
		cfg.DevPayments = true
	case paymentsStripe:
		co, err := p.stripe(st, logger, webhooks)
		if err != nil {
			return nil, err
		}
		onSale, err := st.ListPlans(ctx)
		if err != nil {
			return nil, fmt.Errorf("plans: %w", err)
		}
		if err := stripe.CheckPlans(onSale); err != nil {
			return nil, fmt.Errorf("%w (give the plans' Stripe Prices in --plans or the admin console)", err)
		}
		cfg.Checkouts = append(cfg.Checkouts, co)
	case paymentsNone, "":
	default:
		return nil, usageError{fmt.Errorf("--payments %q: want stripe, dev or none", p.provider)}
	}
	return issuer.New(cfg, st, km, logger, time.Now)
}

// stripe makes the Stripe provider from the options and the environment.
func (p *paymentOptions) stripe(st store.IssuerStore, logger *slog.Logger, webhooks stripe.WebhookRecorder) (*stripe.Checkout, error) {
	key, err := secretFrom("STRIPE_SECRET_KEY", p.secretKeyFile, "--stripe-secret-key-file")
	if err != nil {
		return nil, err
	}
	whsec, err := secretFrom("STRIPE_WEBHOOK_SECRET", p.webhookSecretFile, "--stripe-webhook-secret-file")
	if err != nil {
		return nil, err
	}
	if p.successURL == "" || p.cancelURL == "" {
		return nil, usageError{errors.New("--payments stripe needs --stripe-success-url and --stripe-cancel-url")}
	}
	cfg := stripe.Config{SecretKey: key, WebhookSecret: whsec, APIBase: os.Getenv("STRIPE_API_BASE"),
		SuccessURL: p.successURL, CancelURL: p.cancelURL}
	if webhooks != nil {
		cfg.Metrics = webhooks
	}
	return stripe.New(cfg, st, logger, time.Now)
}

// secretFrom reads a secret from the environment variable env or from a
// file (flag names it in errors); exactly one of them must be set.
func secretFrom(env, file, flag string) (string, error) {
	v := os.Getenv(env)
	switch {
	case v != "" && file != "":
		return "", usageError{fmt.Errorf("both %s and %s are set; give one", env, flag)}
	case v != "":
		return strings.TrimSpace(v), nil
	case file == "":
		return "", usageError{fmt.Errorf("--payments stripe needs %s or %s", env, flag)}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", flag, file)
	}
	return s, nil
}

// seedPlans adds the plans whose ids are not stored yet and leaves stored
// plans as they are (the admin console edits them); it warns when the file
// and the database disagree.
func seedPlans(ctx context.Context, st store.PlanStore, plans []store.Plan, logger *slog.Logger) error {
	for _, p := range plans {
		cur, err := st.GetPlan(ctx, p.ID)
		switch {
		case err == nil:
			if cur != p {
				logger.Warn("a plan in the plans file differs from the database; the database's is used (edit it in the admin console)",
					"plan", p.ID)
			}
			continue
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("seed plan %s: %w", p.ID, err)
		}
		if err := st.UpsertPlan(ctx, p); err != nil {
			return fmt.Errorf("seed plan %s: %w", p.ID, err)
		}
	}
	return nil
}

// packPlans lists the pack plans on sale, for an error about a plan id
// vouchers cannot be made for.
func packPlans(ctx context.Context, st store.PlanStore) string {
	plans, err := st.ListPlans(ctx)
	if err != nil {
		return fmt.Sprintf(" (listing the plans failed: %v)", err)
	}
	var b strings.Builder
	for _, p := range plans {
		if p.Kind == store.PlanPack && !p.Retired {
			fmt.Fprintf(&b, "\n  %-12s %s: %d tokens", p.ID, p.Name, p.Tokens)
		}
	}
	if b.Len() == 0 {
		return "; no pack plan is on sale: add one in the admin console or the plans file"
	}
	return "; pack plans on sale:" + b.String()
}

// newVouchersCmd is `blindpassd vouchers create`.
func newVouchersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vouchers",
		Short: "Make prepaid voucher codes",
	}
	var (
		st    storage
		plan  string
		count int
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Make --count voucher codes for a pack plan and print them, one a line",
		Long: `create makes paid orders for a pack plan and prints their voucher codes, one a line.
A code is used like an order secret ('blindpass voucher CODE', or Authorization: Bearer CODE).
Only the codes' hashes are stored: this output is the only copy of the codes.`,
		Example: `  blindpassd vouchers create --plan starter --count 20 > vouchers.txt`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if plan == "" {
				return usageError{errors.New("--plan is required")}
			}
			stores, err := st.open(cmd.Context(), true, false, false)
			if err != nil {
				return err
			}
			defer stores.Close()
			b, err := voucher.Create(cmd.Context(), stores.issuer, plan, count, "cli", time.Now())
			if errors.Is(err, voucher.ErrPlan) {
				return usageError{fmt.Errorf("%w%s", err, packPlans(cmd.Context(), stores.issuer))}
			}
			if errors.Is(err, voucher.ErrCount) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(b.Codes, "\n"))
			fmt.Fprintf(cmd.ErrOrStderr(), "made %d vouchers for plan %s (batch %s)\n", len(b.Codes), b.PlanID, b.ID)
			return nil
		},
	}
	f := create.Flags()
	st.register(f)
	f.StringVar(&plan, "plan", "", "the pack plan each voucher pays for (required)")
	f.IntVar(&count, "count", 1, fmt.Sprintf("how many codes to make (1 to %d)", voucher.MaxBatch))
	cmd.AddCommand(create)
	return cmd
}
