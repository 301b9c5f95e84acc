package wallet

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestExportImport(t *testing.T) {
	for _, c := range []struct {
		name       string
		exportPass []byte
		importPass []byte
		dstPass    []byte
		wantErr    error
	}{
		{"plain", nil, nil, nil, nil},
		{"encrypted export", []byte("move-pw"), []byte("move-pw"), nil, nil},
		{"encrypted export, destination passphrase", []byte("pw"), nil, []byte("pw"), nil},
		{"encrypted export, no passphrase", []byte("move-pw"), nil, nil, ErrPassphraseRequired},
		{"encrypted export, wrong passphrase", []byte("move-pw"), []byte("nope"), nil, ErrWrongPassphrase},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := randBytes(32)
			toks := fakeTokens(6, "issuer.test", key, time.Now().Add(time.Hour))
			src := openTest(t, tempWallet(t), nil)
			mustPut(t, src, toks)
			if err := src.AddOrder(Order{IssuerURL: "http://i.test", Secret: "s1", OrderID: "o1"}); err != nil {
				t.Fatal(err)
			}
			if err := src.AddOrder(Order{IssuerURL: "http://i.test", Secret: "s2"}); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := src.Export(&buf, c.exportPass); err != nil {
				t.Fatal(err)
			}
			if got := isEncrypted(buf.Bytes()); got != (c.exportPass != nil) {
				t.Fatalf("export encrypted = %v, want %v", got, c.exportPass != nil)
			}
			exported := buf.Bytes()

			// The destination already holds two of the tokens and one order.
			dst := openTest(t, tempWallet(t), c.dstPass)
			mustPut(t, dst, toks[:2])
			mustPut(t, dst, fakeTokens(1, "other.test", randBytes(32), time.Time{}))
			if err := dst.AddOrder(Order{IssuerURL: "http://i.test", Secret: "s1"}); err != nil {
				t.Fatal(err)
			}

			res, err := dst.Import(bytes.NewReader(exported), c.importPass)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("Import = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				if n, _ := dst.Count(Filter{}); n != 3 {
					t.Fatalf("a failed import changed the wallet: %d tokens", n)
				}
				return
			}
			if res != (Imported{Orders: 1, Tokens: 4}) {
				t.Fatalf("Import = %+v, want 1 order and 4 tokens", res)
			}
			if n, _ := dst.Count(Filter{}); n != 7 {
				t.Fatalf("after import %d tokens, want 7", n)
			}
			orders, _ := dst.Orders()
			if len(orders) != 2 || orders[0].OrderID != "o1" {
				t.Fatalf("orders after import = %+v", orders)
			}
			// Importing again adds nothing.
			res, err = dst.Import(bytes.NewReader(exported), c.importPass)
			if err != nil || res != (Imported{}) {
				t.Fatalf("second import = %+v, %v; want nothing added", res, err)
			}
		})
	}
}

func TestImportRejectsGarbage(t *testing.T) {
	w := openTest(t, tempWallet(t), nil)
	if _, err := w.Import(bytes.NewReader([]byte("{not json")), nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Import(garbage) = %v, want ErrCorrupt", err)
	}
}
