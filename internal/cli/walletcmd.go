package cli

import (
	"github.com/spf13/cobra"
)

func (a *App) newWalletCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "Show, move and protect the wallet",
		Long: `The wallet is one file (--wallet, BLINDPASS_WALLET, default in your config directory) holding
your order secrets, voucher codes and unspent tokens. It is written atomically with mode 0600,
is safe to use from several blindpass processes at once, and can be encrypted with a
passphrase ('blindpass wallet encrypt'). It never records which order a token came from.`,
		Example: `  blindpass wallet balance
  blindpass wallet export backup.wallet && blindpass --wallet other.json wallet import backup.wallet`,
		Args: args(cobra.NoArgs),
	}
	cmd.AddCommand(a.newBalanceCmd(g), a.newExportCmd(g), a.newImportCmd(g), a.newEncryptCmd(g), a.newTrustChallengeCmd(g))
	return cmd
}
