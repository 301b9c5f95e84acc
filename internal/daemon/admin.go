package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/blindpass/blindpass/admin"
	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer/keys"
)

func newAdminCmd() *cobra.Command {
	var (
		st             storage
		addr           string
		publicURL      string
		redeemerURL    string
		statsTokenFile string
		jsonLogs       bool
		configFile     string
		sched          schedule
	)
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Run the operator console (stats, keys, plans, orders, vouchers, webhooks, audit log)",
		Long: `admin serves the operator console: a web application over the issuer's database and
the redeemer's aggregate counters. Operators sign in with accounts made by
'blindpassd admin add-user NAME'.

It needs the issuer's database (already migrated), the key-encryption key (to rotate
keys) and the URL operators open (--public-url). Serve it over https, for example
behind a TLS proxy: with plain http it accepts only a loopback address. The redeemer's
statistics come from its GET /internal/stats with the token in --stats-token-file
(the same token as the redeemer's).`,
		Example: `  blindpassd admin --database-url postgres://… --kek-file kek --public-url https://admin.example \
      --redeemer-url http://redeemer:8701 --stats-token-file /run/secrets/stats_token
  blindpassd admin add-user alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configFile != "" {
				return runAdminConfig(cmd, configFile)
			}
			if publicURL == "" {
				return usageError{errors.New("--public-url is required (the URL operators open the console at)")}
			}
			if (redeemerURL == "") != (statsTokenFile == "") {
				return usageError{errors.New("--redeemer-url and --stats-token-file go together")}
			}
			policy, err := sched.policy()
			if err != nil {
				return err
			}
			return runAdmin(cmd.Context(), st, policy, addr, publicURL, redeemerURL, statsTokenFile,
				newLogger(cmd.ErrOrStderr(), jsonLogs))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configFile, "config", "c", "", "configuration file (YAML, see deploy/config/admin.yaml); the other flags are then refused")
	st.register(f)
	sched.register(f)
	f.StringVar(&addr, "addr", "127.0.0.1:8702", "listen address")
	f.StringVar(&publicURL, "public-url", "", "base URL operators open, e.g. https://admin.example (required)")
	f.StringVar(&redeemerURL, "redeemer-url", "", "the redeemer's internal base URL, for its statistics")
	f.StringVar(&statsTokenFile, "stats-token-file", "", "file holding the bearer token of the redeemer's /internal/stats")
	f.BoolVar(&jsonLogs, "json-logs", true, "log JSON")
	cmd.AddCommand(newAdminAddUserCmd())
	return cmd
}

func runAdmin(ctx context.Context, st storage, policy keys.Policy, addr, publicURL, redeemerURL, statsTokenFile string, logger *slog.Logger) error {
	kek, err := st.kek(false)
	if err != nil {
		return err
	}
	stores, err := st.open(ctx, true, false, false)
	if err != nil {
		return err
	}
	defer stores.Close()
	ast, ok := stores.issuer.(admin.Store)
	if !ok {
		return errors.New("admin: the issuer store lacks the console's tables")
	}
	km, err := keys.NewManager(stores.issuer, kek, policy, logger, time.Now, keys.PublicOnly())
	if err != nil {
		return err
	}
	deps := admin.Deps{Store: ast, Keys: km}
	if redeemerURL != "" {
		token, err := readSecretFile(statsTokenFile)
		if err != nil {
			return fmt.Errorf("--stats-token-file: %w", err)
		}
		deps.Stats = admin.RemoteStats{URL: redeemerURL, Token: token}
	} else {
		logger.Warn("no --redeemer-url: the console shows no redemption statistics")
	}
	console, err := admin.New(admin.Config{PublicURL: publicURL}, deps, logger, time.Now)
	if err != nil {
		return err
	}
	ln, _, err := listen(addr)
	if err != nil {
		return err
	}
	logger.Info("admin console listening", "addr", ln.Addr().String(), "public_url", publicURL, "state", st.describe())
	return ignoreCancel(httpx.Serve(ctx, ln, console.Handler(), httpx.DefaultTimeouts, logger))
}

func newAdminAddUserCmd() *cobra.Command {
	var (
		st      storage
		replace bool
	)
	cmd := &cobra.Command{
		Use:   "add-user NAME",
		Short: "Add an operator account to the console (prompts for the password)",
		Long: `add-user creates an operator account with an argon2id password hash. The password is
read from the terminal without echo (asked twice), or, when standard input is not a
terminal, from its first line (for scripts). At least 12 characters.`,
		Example: `  blindpassd admin add-user alice
  printf '%s\n' "$PASSWORD" | blindpassd admin add-user --database-url postgres://… alice`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readNewPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			stores, err := st.open(ctx, true, false, false)
			if err != nil {
				return err
			}
			defer stores.Close()
			us, ok := stores.issuer.(admin.UserStore)
			if !ok {
				return errors.New("admin: the issuer store lacks the console's tables")
			}
			if err := admin.AddUser(ctx, us, args[0], pw, replace, admin.DefaultArgon2id, "cli", time.Now()); err != nil {
				if errors.Is(err, admin.ErrUserExists) {
					return fmt.Errorf("%w (use --replace to set a new password)", err)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "operator %s can sign in to the console\n", args[0])
			return nil
		},
	}
	st.register(cmd.Flags())
	cmd.Flags().BoolVar(&replace, "replace", false, "set a new password if the operator exists")
	return cmd
}

// readNewPassword reads a password: from a terminal without echo, twice;
// otherwise the first line of in.
func readNewPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(prompt, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), admin.CheckPassword(string(a))
	}
	line, err := bufio.NewReader(io.LimitReader(in, admin.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	return pw, admin.CheckPassword(pw)
}

// readSecretFile reads a one-line secret file.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// runDevAdmin serves the console of `blindpassd dev` on addr over the dev
// stores and prints a one-time sign-in link. The console is optional in dev:
// when addr is empty or cannot be used it says so and dev goes on without it.
func runDevAdmin(ctx context.Context, addr string, st *stores, km *keys.Manager, stdout io.Writer, logger *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ast, ok1 := st.issuer.(admin.Store)
	stats, ok2 := st.redeemer.(store.RedeemerStatsStore)
	if !ok1 || !ok2 {
		logger.Warn("admin console off: the dev stores lack its tables")
		return nil
	}
	ln, url, err := listen(addr)
	if err != nil {
		logger.Warn("admin console off", "error", err.Error())
		return nil
	}
	console, err := admin.New(admin.Config{PublicURL: url}, admin.Deps{Store: ast, Keys: km, Stats: admin.StoreStats{Store: stats}},
		logger, time.Now)
	if err != nil {
		ln.Close()
		logger.Warn("admin console off", "error", err.Error())
		return nil
	}
	link, err := console.LoginLink(ctx)
	if err != nil {
		ln.Close()
		return fmt.Errorf("admin console: %w", err)
	}
	fmt.Fprintf(stdout, "Admin console: %s\n  sign in once with %s (valid %s)\n", url, link, admin.DefaultLoginLinkTTL)
	return httpx.Serve(ctx, ln, console.Handler(), httpx.DefaultTimeouts, logger)
}
