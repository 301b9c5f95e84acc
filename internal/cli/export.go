package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

type exportOptions struct {
	encrypt, plain, force bool
}

func (a *App) newExportCmd(g *globals) *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export FILE",
		Short: "Copy the wallet (orders and tokens) to a file, to move it to another device",
		Long: `export writes a copy of the wallet's orders, voucher codes and tokens to FILE (mode 0600; "-" is
stdout). The file is as secret as the wallet: whoever has it can spend the tokens.

An encrypted wallet is exported encrypted with its own passphrase; --encrypt asks for another
passphrase (or reads BLINDPASS_NEW_PASSPHRASE); --plain writes plain JSON.

The tokens stay in this wallet too. Spend each from one device only: a token spent twice is
refused the second time.`,
		Example: `  blindpass wallet export backup.wallet
  blindpass wallet export --encrypt phone.wallet
  blindpass --wallet new.json wallet import phone.wallet`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a2 []string) error { return a.export(g, o, a2[0]) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.encrypt, "encrypt", false, "encrypt the file with a new passphrase (env "+envNewPassphrase+" or asked)")
	f.BoolVar(&o.plain, "plain", false, "write plain JSON even when the wallet is encrypted")
	f.BoolVar(&o.force, "force", false, "overwrite FILE if it exists")
	return cmd
}

func (a *App) export(g *globals, o exportOptions, file string) error {
	if o.encrypt && o.plain {
		return usageErrorf("--encrypt and --plain exclude each other")
	}
	s, err := a.open(g)
	if err != nil {
		return err
	}
	pass := s.pass
	switch {
	case o.plain:
		pass = nil
	case o.encrypt:
		if pass, err = a.newPassphrase("the export file"); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := s.w.Export(&buf, pass); err != nil {
		return err
	}
	if file == "-" {
		_, err := a.Stdout.Write(buf.Bytes())
		return err
	}
	if err := writeNewFile(file, buf.Bytes(), o.force); err != nil {
		return err
	}
	how := "plain JSON: keep it safe"
	if len(pass) > 0 {
		how = "encrypted"
	}
	fmt.Fprintf(a.stderr, "Wallet exported to %s (%s).\n", file, how)
	return nil
}

// writeNewFile writes data to path with mode 0600 through a temporary file
// and a rename, refusing to replace an existing file unless force.
func writeNewFile(path string, data []byte, force bool) error {
	if _, err := os.Stat(path); err == nil && !force {
		return usageErrorf("%s exists: choose another name or pass --force", path)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".blindpass-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := io.Copy(tmp, bytes.NewReader(data)); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
