package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/client/wallet"
)

// maxImport bounds an import file (the wallet package has the same limit).
const maxImport = 64 << 20

func (a *App) newImportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Merge an exported wallet into this one",
		Long: `import merges a file made by 'blindpass wallet export' ("-" reads stdin) into this wallet:
orders, voucher codes and tokens it does not hold yet are added, nothing is duplicated.

An encrypted file is opened with BLINDPASS_FILE_PASSPHRASE, else this wallet's passphrase,
else a passphrase asked on the terminal.`,
		Example: `  blindpass wallet import backup.wallet
  BLINDPASS_FILE_PASSPHRASE=… blindpass wallet import phone.wallet`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a2 []string) error { return a.importWallet(g, a2[0]) },
	}
	return cmd
}

func (a *App) importWallet(g *globals, file string) error {
	s, err := a.open(g)
	if err != nil {
		return err
	}
	var in io.Reader = a.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, maxImport+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	pass := []byte(a.Getenv(envFilePassphrase))
	res, err := s.w.Import(bytes.NewReader(data), pass)
	if (errors.Is(err, wallet.ErrPassphraseRequired) || errors.Is(err, wallet.ErrWrongPassphrase)) && a.interactive() {
		if pass, err = a.askPassphrase("Passphrase of " + file + ": "); err != nil {
			return err
		}
		res, err = s.w.Import(bytes.NewReader(data), pass)
	}
	if errors.Is(err, wallet.ErrPassphraseRequired) || errors.Is(err, wallet.ErrWrongPassphrase) {
		return fmt.Errorf("%s is encrypted with another passphrase: set %s or run in a terminal to be asked: %w", file, envFilePassphrase, err)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", file, err)
	}
	if g.json {
		return a.printJSON(map[string]int{"orders_added": res.Orders, "tokens_added": res.Tokens})
	}
	fmt.Fprintf(a.stdout, "Imported %s and %s.\n", count(res.Tokens, "new token", "new tokens"), count(res.Orders, "new order", "new orders"))
	return nil
}
