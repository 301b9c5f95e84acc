package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/blindpass/blindpass/internal/config"
)

func newIssuerCmd() *cobra.Command {
	var (
		st          storage
		configFile  string
		addr        string
		metricsAddr string
		publicURL   string
		name        string
		maxBatch    int
		jsonLogs    bool
	)
	cmd := &cobra.Command{
		Use:   "issuer",
		Short: "Run the issuer role: key epochs, orders, payments and token issuance",
		Long: `issuer serves the issuer directory, plans, orders and blind-signed token issuance,
with /healthz and /readyz, and Prometheus metrics on metrics_addr.

In production give it a configuration file (see deploy/config/issuer.yaml; every key
can be overridden by BLINDPASS_ISSUER_<KEY>): it needs the key-encryption key file and a
Postgres database already migrated with 'blindpassd migrate'. The flags below, without
--config, are a shortcut for trying it out.`,
		Example: `  blindpassd issuer --config /etc/blindpass/issuer.yaml
  blindpassd issuer --database-url postgres://… --kek-file kek --public-url https://issuer.example`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *config.Issuer
			if configFile != "" {
				if err := onlyConfig(cmd.Flags()); err != nil {
					return err
				}
				c, err := config.LoadIssuer(configFile, config.OSEnv())
				if err != nil {
					return err
				}
				cfg = c
			} else {
				if publicURL == "" {
					return usageError{errors.New("--public-url is required (the URL clients reach this issuer at), or give --config")}
				}
				kek, err := st.kek(false)
				if err != nil {
					return err
				}
				db, err := st.database()
				if err != nil {
					return err
				}
				cfg = &config.Issuer{
					Server:    config.Server{Listen: addr, MetricsAddr: metricsAddr},
					PublicURL: publicURL, Name: name, MaxBatch: maxBatch,
					Database: db, KEK: kek,
					Log: logFormat(jsonLogs),
				}
			}
			r, err := newIssuerRole(cmd.Context(), cfg, cfg.Log.Logger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			return r.serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configFile, "config", "c", "", "configuration file (YAML); the other flags are then refused")
	st.register(f)
	f.StringVar(&addr, "addr", "127.0.0.1:8700", "listen address")
	f.StringVar(&metricsAddr, "metrics-addr", "", "listen address for /metrics and /debug/pprof (empty: off)")
	f.StringVar(&publicURL, "public-url", "", "base URL clients use to reach the issuer (required without --config)")
	f.StringVar(&name, "name", "", "issuer_name in token challenges (default: host of --public-url)")
	f.IntVar(&maxBatch, "max-batch", 100, "most token requests in one batch")
	f.BoolVar(&jsonLogs, "json-logs", true, "log JSON")
	registerPayments(cmd, "issuer")
	return cmd
}

func newRedeemerCmd() *cobra.Command {
	var (
		st          storage
		configFile  string
		addr        string
		metricsAddr string
		issuerURL   string
		origins     []string
		statsToken  string
		jsonLogs    bool
	)
	cmd := &cobra.Command{
		Use:   "redeemer",
		Short: "Run the redeemer role: token verification, the spent-token set, POST /v1/redeem and the premium gateway",
		Long: `redeemer verifies tokens with the issuer's public keys only (read from the issuer
directory) and spends each once. It holds no private key and cannot read orders. With
gateway models in its configuration it also serves the premium OpenAI-compatible routes.

In production give it a configuration file (see deploy/config/redeemer.yaml; every key
can be overridden by BLINDPASS_REDEEMER_<KEY>). The flags below, without --config, run
the verification API only.`,
		Example: `  blindpassd redeemer --config /etc/blindpass/redeemer.yaml
  blindpassd redeemer --database-url postgres://… --issuer-url http://127.0.0.1:8700 --origin chat.example`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *config.Redeemer
			if configFile != "" {
				if err := onlyConfig(cmd.Flags()); err != nil {
					return err
				}
				c, err := config.LoadRedeemer(configFile, config.OSEnv())
				if err != nil {
					return err
				}
				cfg = c
			} else {
				if issuerURL == "" || len(origins) == 0 {
					return usageError{errors.New("--issuer-url and --origin are required, or give --config")}
				}
				db, err := st.database()
				if err != nil {
					return err
				}
				cfg = &config.Redeemer{
					Server:    config.Server{Listen: addr, MetricsAddr: metricsAddr},
					IssuerURL: issuerURL, Origins: origins,
					Database: db,
					Log:      logFormat(jsonLogs),
				}
				if statsToken != "" {
					tok, err := readSecretFile(statsToken)
					if err != nil {
						return fmt.Errorf("--stats-token-file: %w", err)
					}
					cfg.StatsToken = tok
				}
			}
			r, err := newRedeemerRole(cmd.Context(), cfg, cfg.Log.Logger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			return r.serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configFile, "config", "c", "", "configuration file (YAML); the other flags are then refused")
	st.register(f)
	f.StringVar(&addr, "addr", "127.0.0.1:8701", "listen address")
	f.StringVar(&metricsAddr, "metrics-addr", "", "listen address for /metrics and /debug/pprof (empty: off)")
	f.StringVar(&issuerURL, "issuer-url", "", "base URL of the issuer whose directory lists the keys (required without --config)")
	f.StringSliceVar(&origins, "origin", nil, "origin name(s) in the token challenge, e.g. chat.example (required without --config)")
	f.StringVar(&statsToken, "stats-token-file", "", "file with the bearer token (32+ characters) the admin console presents to GET /internal/stats; empty: no such route")
	f.BoolVar(&jsonLogs, "json-logs", true, "log JSON")
	return cmd
}

// onlyConfig refuses flags given together with --config: the file (and the
// environment) is the one source of a production role's settings.
func onlyConfig(fs *pflag.FlagSet) error {
	var set []string
	fs.Visit(func(f *pflag.Flag) {
		if f.Name != "config" {
			set = append(set, "--"+f.Name)
		}
	})
	if len(set) > 0 {
		return usageError{fmt.Errorf("%s cannot be used with --config: set it in the file or its environment variable", strings.Join(set, ", "))}
	}
	return nil
}

// logFormat is the log configuration of the flag-only forms.
func logFormat(json bool) config.Log {
	if json {
		return config.Log{Format: "json", Level: "info"}
	}
	return config.Log{Format: "text", Level: "info"}
}

// ignoreCancel treats the end of a run by signal as success.
func ignoreCancel(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
