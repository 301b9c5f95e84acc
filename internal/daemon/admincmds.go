package daemon

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/issuer/keys"
)

func newMigrateCmd() *cobra.Command {
	var st storage
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations (embedded in the binary) to --database-url",
		Args:  cobra.NoArgs,
		Long: `migrate applies every pending migration. Run it before starting new versions of
the issuer or redeemer against Postgres. The embedded store migrates itself on start.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stores, err := st.open(cmd.Context(), true, true, true)
			if err != nil {
				return err
			}
			stores.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "migrated %s\n", st.describe())
			return nil
		},
	}
	st.register(cmd.Flags())
	return cmd
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List or rotate the issuer's key epochs",
	}
	var (
		st         storage
		sched      schedule
		configFile string
	)
	pf := cmd.PersistentFlags()
	st.register(pf)
	sched.register(pf)
	pf.StringVarP(&configFile, "config", "c", "", "the issuer's configuration file (YAML): its database, kek_file and keys schedule; the other flags are then refused")
	open := func(cmd *cobra.Command) (*keys.Manager, func(), error) {
		return openKeyManager(cmd, &st, sched, configFile)
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List key epochs with their publication, issuing and redemption windows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			km, closeFn, err := open(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			ks, err := km.List(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "EPOCH\tKEY ID\tSTATE\tNOT BEFORE\tISSUE UNTIL\tREDEEM UNTIL")
			for _, k := range ks {
				fmt.Fprintf(w, "%d\t%x\t%s\t%s\t%s\t%s\n", k.Epoch, k.ID[:8], k.State,
					k.NotBefore.UTC().Format(time.RFC3339), k.IssueUntil.UTC().Format(time.RFC3339), k.RedeemUntil.UTC().Format(time.RFC3339))
			}
			return w.Flush()
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Start a new key epoch now; the current key stops issuing (its tokens stay valid)",
		Long: `rotate makes a new key that signs from now; every key still signing stops now (its
tokens stay valid until their redeem_until). The new key follows the issuer's key
schedule: give the issuer's configuration file with --config (its database, kek_file
and keys section are used), or, with the flag form, --issue-period, --lead and
--redeem-grace with the values the issuer runs with (their defaults are the issuer's
defaults). Running issuers sign with the new key at once.`,
		Example: `  blindpassd keys rotate --config /etc/blindpass/issuer.yaml
  blindpassd keys rotate --database-url-file db_url --kek-file kek --issue-period 720h --redeem-grace 720h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			km, closeFn, err := open(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			k, err := km.Rotate(keys.WithActor(cmd.Context(), "cli"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rotated: epoch %d, key id %x, issuing until %s\n", k.Epoch, k.ID, k.IssueUntil.UTC().Format(time.RFC3339))
			return nil
		},
	}
	createKEK := &cobra.Command{
		Use:   "create-kek FILE",
		Short: "Make a new key-encryption key file (mode 0600) for --kek-file",
		Long: `create-kek writes 32 random bytes, base64-encoded, to a new file readable only by its
owner. The issuer seals its private keys with this key: keep it secret, back it up apart
from the database, and give every issuer replica the same file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := keys.CreateKEK(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote a new key-encryption key to %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, rotate, createKEK, newCopyKEKCmd())
	return cmd
}

func openKeyManager(cmd *cobra.Command, st *storage, sched schedule, configFile string) (*keys.Manager, func(), error) {
	logger := newLogger(cmd.ErrOrStderr(), false)
	if configFile != "" {
		if err := onlyConfig(cmd.Flags()); err != nil {
			return nil, nil, err
		}
		cfg, err := config.LoadIssuer(configFile, config.OSEnv())
		if err != nil {
			return nil, nil, err
		}
		db, _, err := openDatabase(cmd.Context(), cfg.Database, "issuer.db")
		if err != nil {
			return nil, nil, err
		}
		km, err := keys.NewManager(db, cfg.KEK, cfg.Keys.Policy(), logger, time.Now, keys.PublicOnly())
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return km, func() { _ = db.Close() }, nil
	}
	policy, err := sched.policy()
	if err != nil {
		return nil, nil, err
	}
	kek, err := st.kek(false)
	if err != nil {
		return nil, nil, err
	}
	stores, err := st.open(cmd.Context(), true, false, false)
	if err != nil {
		return nil, nil, err
	}
	if stores.issuer == nil {
		stores.Close()
		return nil, nil, errors.New("no issuer store")
	}
	km, err := keys.NewManager(stores.issuer, kek, policy, logger, time.Now, keys.PublicOnly())
	if err != nil {
		stores.Close()
		return nil, nil, err
	}
	return km, stores.Close, nil
}

// schedule is the key schedule of the flag forms (`keys`, `admin`): it must
// be the issuer's, since a forced rotation makes a key with it.
type schedule struct {
	issuePeriod, lead, redeemGrace time.Duration
}

func (s *schedule) register(fs *pflag.FlagSet) {
	fs.DurationVar(&s.issuePeriod, "issue-period", 0, "the issuer's keys.issue_period, for forced rotations (0: the default, 1440h)")
	fs.DurationVar(&s.lead, "lead", 0, "the issuer's keys.lead (0: the default, 48h)")
	fs.DurationVar(&s.redeemGrace, "redeem-grace", 0, "the issuer's keys.redeem_grace (0: the default, 1440h)")
}

// policy checks the schedule as the issuer's configuration does.
func (s schedule) policy() (keys.Policy, error) {
	k := config.KeySchedule{IssuePeriod: s.issuePeriod, Lead: s.lead, RedeemGrace: s.redeemGrace}
	if s.issuePeriod < 0 || s.lead < 0 || s.redeemGrace < 0 {
		return keys.Policy{}, usageError{errors.New("--issue-period, --lead and --redeem-grace must not be negative")}
	}
	p := k.Policy()
	if err := p.Validate(); err != nil {
		return keys.Policy{}, usageError{err}
	}
	return p, nil
}
