package daemon

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

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
	var st storage
	st.register(cmd.PersistentFlags())
	list := &cobra.Command{
		Use:   "list",
		Short: "List key epochs with their publication, issuing and redemption windows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			km, closeFn, err := openKeyManager(cmd, &st)
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
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			km, closeFn, err := openKeyManager(cmd, &st)
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

func openKeyManager(cmd *cobra.Command, st *storage) (*keys.Manager, func(), error) {
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
	km, err := keys.NewManager(stores.issuer, kek, keys.Policy{}, newLogger(cmd.ErrOrStderr(), false), time.Now, keys.PublicOnly())
	if err != nil {
		stores.Close()
		return nil, nil, err
	}
	return km, stores.Close, nil
}
