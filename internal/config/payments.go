package config

import (
	"fmt"

	"github.com/blindpass/blindpass/issuer"
)

// Payment providers of a production issuer. Vouchers are always accepted;
// the free dev checkout exists only in `blindpassd dev`.
const (
	PaymentsNone   = "none"
	PaymentsStripe = "stripe"
)

// Payments is how the issuer takes payments and which plans it sells.
type Payments struct {
	// Provider is "none" (vouchers only, the default) or "stripe".
	Provider string `yaml:"provider"`
	// PlansFile seeds the plans table (YAML or JSON, see docs/payments.md);
	// plans already stored are left as the admin console made them.
	PlansFile string `yaml:"plans_file"`
	// Stripe configures Stripe Checkout; required when provider is stripe.
	Stripe Stripe `yaml:"stripe"`
}

// Stripe configures Stripe Checkout and its webhook.
type Stripe struct {
	// SuccessURL and CancelURL are where Checkout sends the buyer back.
	SuccessURL string `yaml:"success_url"`
	CancelURL  string `yaml:"cancel_url"`
	// SecretKeyFile holds the API key (sk_live_… or a restricted rk_… key).
	SecretKeyFile string `yaml:"secret_key_file"`
	// WebhookSecretFile holds the webhook endpoint's signing secret (whsec_…).
	WebhookSecretFile string `yaml:"webhook_secret_file"`
}

func (p *Payments) check(v *validator) {
	switch p.Provider {
	case "":
		p.Provider = PaymentsNone
	case PaymentsNone, PaymentsStripe:
	case "dev":
		v.add("payments.provider", `"dev" checkout is free and exists only in "blindpassd dev"`)
	default:
		v.add("payments.provider", fmt.Sprintf("%q is not none or stripe", p.Provider))
	}
	if p.PlansFile != "" {
		if _, err := issuer.LoadPlans(p.PlansFile); err != nil {
			v.add("payments.plans_file", err.Error())
		}
	}
	// The stripe section is ignored unless the provider is stripe, so that
	// BLINDPASS_ISSUER_PAYMENTS_PROVIDER=none can turn a file's Stripe off.
	s := p.Stripe
	if p.Provider != PaymentsStripe {
		return
	}
	v.httpURL("payments.stripe.success_url", s.SuccessURL)
	v.httpURL("payments.stripe.cancel_url", s.CancelURL)
	for field, path := range map[string]string{"payments.stripe.secret_key_file": s.SecretKeyFile, "payments.stripe.webhook_secret_file": s.WebhookSecretFile} {
		if !v.required(field, path) {
			continue
		}
		if _, err := readSecret(path); err != nil {
			v.add(field, err.Error())
		}
	}
}
