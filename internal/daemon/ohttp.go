package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/httpx"
	ohttpgw "github.com/blindpass/blindpass/ohttp/gateway"
	"github.com/blindpass/blindpass/ohttp/relay"
)

// withOHTTP puts the Oblivious HTTP gateway in front of h when cfg turns it
// on, and returns the gateway's key rotation loop for the role's tasks (nil
// when off or when rotation is manual). The gateway's own requests are
// neither logged nor counted; the inner requests go through h like direct
// ones.
func withOHTTP(h http.Handler, cfg config.OHTTP, logger *slog.Logger) (http.Handler, func(context.Context) error, error) {
	if !cfg.Enabled() {
		return h, nil, nil
	}
	gw, err := ohttpgw.New(cfg.KeysFile, cfg.KEK, logger)
	if err != nil {
		return nil, nil, err
	}
	var task func(context.Context) error
	if cfg.RotateEvery >= 0 {
		task = func(ctx context.Context) error { return gw.Run(ctx, cfg.RotateEvery) }
	}
	return gw.Wrap(h), task, nil
}

func newRelayCmd() *cobra.Command {
	var (
		configFile string
		addr       string
		gateways   []string
		jsonLogs   bool
	)
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run an Oblivious HTTP relay in front of Blindpass gateways (for another organization to operate)",
		Long: `relay is an Oblivious HTTP relay (RFC 9458). It forwards encapsulated requests to
the configured gateway URLs only, with no client header or address and none added, logs
no address, bounds body sizes and concurrency, and streams chunked answers. The gateway
whose URL has host H is reached at POST /H; GET /H returns its key configuration, which
the relay fetches itself and serves identically to every client.

The relay only hides client addresses from the operator if someone else runs it: see
docs/privacy-network.md.`,
		Example: `  blindpassd relay --config /etc/blindpass/relay.yaml
  blindpassd relay --addr 127.0.0.1:8704 --gateway https://redeemer.example/.well-known/ohttp-gateway`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *config.Relay
			if configFile != "" {
				if err := onlyConfig(cmd.Flags()); err != nil {
					return err
				}
				c, err := config.LoadRelay(configFile, config.OSEnv())
				if err != nil {
					return err
				}
				cfg = c
			} else {
				if len(gateways) == 0 {
					return usageError{errors.New("--gateway is required (a gateway URL), or give --config")}
				}
				cfg = &config.Relay{Server: config.Server{Listen: addr}, Gateways: gateways, Log: logFormat(jsonLogs)}
				if err := cfg.Validate(); err != nil {
					return usageError{err}
				}
			}
			logger := cfg.Log.Logger(cmd.ErrOrStderr())
			rl, err := relay.New(relay.Config{
				Gateways: cfg.Gateways, MaxRequestBytes: cfg.MaxRequestBytes, MaxResponseBytes: cfg.MaxResponseBytes,
				MaxConcurrent: cfg.MaxConcurrent, RequestTimeout: cfg.RequestTimeout, KeyCache: cfg.KeyCache,
			}, nil, logger)
			if err != nil {
				return err
			}
			r := newRole("relay", logger)
			r.handler = httpx.WithHealth(rl)
			if err := r.listen(cfg.Server, httpx.StreamingTimeouts); err != nil {
				r.close()
				return err
			}
			logger.Info("relay ready", "listen", r.api.Addr().String(), "gateways", cfg.Gateways)
			return r.serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configFile, "config", "c", "", "configuration file (YAML); the other flags are then refused")
	f.StringVar(&addr, "addr", "127.0.0.1:8704", "listen address")
	f.StringSliceVar(&gateways, "gateway", nil, "gateway URL to forward to (repeatable), e.g. https://redeemer.example/.well-known/ohttp-gateway")
	f.BoolVar(&jsonLogs, "json-logs", false, "log JSON instead of text")
	return cmd
}

func newOHTTPKeysCmd() *cobra.Command {
	var keysFile, kekFile string
	cmd := &cobra.Command{
		Use:   "ohttp-keys",
		Short: "List or rotate the Oblivious HTTP gateway keys of an issuer or redeemer",
		Long: `ohttp-keys manages an OHTTP gateway keyring (the ohttp.keys_file of the issuer or
redeemer configuration), sealed under the key-encryption key. rotate adds a new key and
keeps the one before it, so clients holding the previous configuration keep working;
running gateways pick the change up within 10 seconds. Rotate no more often than the
relays' key cache (5 minutes by default) plus an hour.`,
		Args: cobra.NoArgs,
	}
	flags := func(c *cobra.Command) *cobra.Command {
		c.Flags().StringVar(&keysFile, "keys-file", "", "the gateway keyring file (required)")
		c.Flags().StringVar(&kekFile, "kek-file", "", "the key-encryption key file (required)")
		_ = c.MarkFlagRequired("keys-file")
		_ = c.MarkFlagRequired("kek-file")
		return c
	}
	loadKEK := func() ([]byte, error) {
		o := config.OHTTP{KeysFile: keysFile, KEKFile: kekFile}
		if err := config.CheckOHTTP(&o); err != nil {
			return nil, err
		}
		return o.KEK, nil
	}
	cmd.AddCommand(flags(&cobra.Command{
		Use: "list", Short: "List the keys (id, creation time)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kek, err := loadKEK()
			if err != nil {
				return err
			}
			_, infos, err := ohttpgw.LoadKeys(keysFile, kek)
			if err != nil {
				return err
			}
			for i, k := range infos {
				state := "current"
				if i > 0 {
					state = "previous"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "key %3d  created %s  %s\n", k.ID, k.Created.Format(time.RFC3339), state)
			}
			return nil
		},
	}), flags(&cobra.Command{
		Use: "rotate", Short: "Add a new key (created with the file when missing), keep the previous one", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kek, err := loadKEK()
			if err != nil {
				return err
			}
			k, err := ohttpgw.Rotate(keysFile, kek, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new OHTTP key %d; gateways use it within 10 s\n", k.ID)
			return nil
		},
	}))
	return cmd
}

type devRelay struct {
	ln  net.Listener
	h   http.Handler
	url string
}

// devOHTTP puts OHTTP gateways in front of the dev issuer and redeemer
// (keyrings in the data directory, sealed under the dev KEK) and, with
// --relay-addr, starts a relay to both.
func devOHTTP(o devOptions, kek []byte, iss, red http.Handler, issURL, redURL string, logger *slog.Logger) (http.Handler, http.Handler, *devRelay, error) {
	if err := o.ensureDataDir(); err != nil {
		return nil, nil, nil, err
	}
	// Dev keys are rotated by hand only (blindpassd ohttp-keys rotate).
	issH, _, err := withOHTTP(iss, config.OHTTP{KeysFile: filepath.Join(o.dataDir, "ohttp-issuer-keys.json"), KEK: kek, RotateEvery: -1}, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	redH, _, err := withOHTTP(red, config.OHTTP{KeysFile: filepath.Join(o.dataDir, "ohttp-redeemer-keys.json"), KEK: kek, RotateEvery: -1}, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	if o.relayAddr == "" {
		return issH, redH, nil, nil
	}
	rcfg := &config.Relay{Server: config.Server{Listen: o.relayAddr}, Gateways: []string{issURL + ohttpgw.Path, redURL + ohttpgw.Path}}
	if err := rcfg.Validate(); err != nil {
		return nil, nil, nil, err
	}
	rl, err := relay.New(relay.Config{
		Gateways: rcfg.Gateways, MaxRequestBytes: rcfg.MaxRequestBytes, MaxResponseBytes: rcfg.MaxResponseBytes,
		MaxConcurrent: rcfg.MaxConcurrent, RequestTimeout: rcfg.RequestTimeout, KeyCache: rcfg.KeyCache,
	}, nil, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	ln, u, err := listen(o.relayAddr)
	if err != nil {
		return nil, nil, nil, err
	}
	return issH, redH, &devRelay{ln: ln, h: httpx.WithHealth(rl), url: u}, nil
}
