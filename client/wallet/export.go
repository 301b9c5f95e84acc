package wallet

import (
	"encoding/json"
	"fmt"
	"io"
)

// Export writes a copy of the whole wallet (orders and tokens) to out: as
// plain JSON when passphrase is empty, else as an age file encrypted
// straight to it (scrypt, the format `age -d` reads). The tokens stay in this wallet too; spending the same token from two
// wallets makes one of the spends fail as already spent.
func (w *Wallet) Export(out io.Writer, passphrase []byte) error {
	return w.View(func(st *State) error {
		data, err := json.MarshalIndent(st, "", " ")
		if err != nil {
			return fmt.Errorf("wallet: export: %w", err)
		}
		if len(passphrase) > 0 {
			if data, err = sealScrypt(data, passphrase, w.workFactor, w.countScrypt); err != nil {
				return err
			}
		}
		if _, err := out.Write(data); err != nil {
			return fmt.Errorf("wallet: export: %w", err)
		}
		return nil
	})
}

// Imported says what Import added.
type Imported struct {
	Orders     int // new orders
	Tokens     int // new tokens
	Challenges int // redeemer challenges this wallet did not remember
	Pending    int // pending batches this wallet did not hold
}

// Import merges an exported wallet (plain or encrypted; an encrypted one
// needs passphrase, or this wallet's own passphrase when passphrase is
// empty) into this one. A copy of an encrypted wallet file imports too. Orders and tokens already present are not
// duplicated.
func (w *Wallet) Import(in io.Reader, passphrase []byte) (Imported, error) {
	var res Imported
	raw, err := io.ReadAll(io.LimitReader(in, maxFileSize+1))
	if err != nil {
		return res, fmt.Errorf("wallet: import: %w", err)
	}
	if len(raw) > maxFileSize {
		return res, fmt.Errorf("%w: import larger than %d bytes", ErrCorrupt, maxFileSize)
	}
	plain := raw
	if isEncrypted(raw) {
		if len(passphrase) == 0 {
			passphrase = w.passphrase
		}
		if plain, err = openEncrypted(raw, w.opener(passphrase, nil)); err != nil {
			return res, err
		}
	}
	src, err := decodeState(plain)
	if err != nil {
		return res, err
	}
	err = w.Update(func(st *State) error {
		res = Imported{}
		for _, o := range src.Orders {
			added, err := st.AddOrder(o)
			if err != nil {
				return err
			}
			if added {
				res.Orders++
			}
		}
		n, err := st.AddTokens(src.Tokens)
		res.Tokens = n
		if err != nil {
			return err
		}
		// A challenge this wallet remembers differently is kept as it is: an
		// import must not silently change what a redeemer is trusted with.
		for _, c := range src.Challenges {
			if _, known := st.RememberedChallenge(c.Redeemer); !known {
				st.rememberChallenge(c, false)
				res.Challenges++
			}
		}
		for _, p := range src.Pending {
			if st.addPending(p) {
				res.Pending++
			}
		}
		return nil
	})
	return res, err
}
