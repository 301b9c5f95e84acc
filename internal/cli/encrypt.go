package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *App) newEncryptCmd(g *globals) *cobra.Command {
	var remove bool
	cmd := &cobra.Command{
		Use:   "encrypt [--remove]",
		Short: "Encrypt the wallet with a passphrase, change it, or remove it",
		Long: `encrypt rewrites the wallet encrypted with a new passphrase (age, scrypt), read from
BLINDPASS_NEW_PASSPHRASE or asked twice on the terminal. From then on blindpass needs the
passphrase: set BLINDPASS_PASSPHRASE or type it when asked. --remove writes the wallet as
plain JSON again.

Saving an encrypted wallet runs scrypt, about a second each time tokens are taken or added.`,
		Example: `  blindpass wallet encrypt
  blindpass wallet encrypt --remove`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(g)
			if err != nil {
				return err
			}
			if remove {
				if err := s.w.SetPassphrase(nil); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, "The wallet is now plain JSON (mode 0600).")
				return nil
			}
			pass, err := a.newPassphrase("the wallet")
			if err != nil {
				return err
			}
			if err := s.w.SetPassphrase(pass); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "The wallet is encrypted. Set %s or type the passphrase when asked.\n", envPassphrase)
			return nil
		},
	}
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the encryption")
	return cmd
}
