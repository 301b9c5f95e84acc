package rsacrt

import (
	"crypto/rsa"
	"go/format"
	"go/token"
	"io"
	"testing"

	"filippo.io/bigmod"
	"github.com/cloudflare/circl/blindsign/blindrsa"
)

func formatNode(w io.Writer, fset *token.FileSet, n any) error { return format.Node(w, fset, n) }

// mustNat is b as an element mod p (for corrupting qInv).
func mustNat(t testing.TB, b []byte, k *PrivateKey) *bigmod.Nat {
	t.Helper()
	x, err := bigmod.NewNat().SetBytes(b, k.p)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// natMod is b as an element mod n.
func natMod(b []byte, k *PrivateKey) (*bigmod.Nat, error) {
	return bigmod.NewNat().SetBytes(b, k.n)
}

// unchecked is what Sign would return without RFC 9474's check.
func (k *PrivateKey) unchecked(t testing.TB, m []byte) []byte {
	t.Helper()
	c, err := bigmod.NewNat().SetBytes(m, k.n)
	if err != nil {
		t.Fatal(err)
	}
	return k.crt(c).Bytes(k.n)
}

func blindrsaSigner(sk *rsa.PrivateKey) blindrsa.Signer { return blindrsa.NewSigner(sk) }
