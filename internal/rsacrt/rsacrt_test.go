package rsacrt

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"math/big"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cloudflare/circl/blindsign/blindrsa"
)

// vectorKey is the RSA-2048 key of RFC 9474 Appendix A, with the blinded
// messages and blind signatures of its four variants.
type vector struct {
	Name       string `json:"name"`
	P, Q, N, E string
	D          string `json:"d"`
	BlindedMsg string `json:"blinded_msg"`
	BlindSig   string `json:"blind_sig"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc9474-blindsign.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 4 {
		t.Fatalf("%d vectors, want the 4 of RFC 9474 Appendix A", len(vs))
	}
	return vs
}

func bigHex(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(strings.TrimPrefix(s, "0x"), 16)
	if !ok {
		t.Fatalf("bad hex %q", s)
	}
	return v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (v vector) key(t testing.TB) *rsa.PrivateKey {
	sk := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: bigHex(t, v.N), E: int(bigHex(t, v.E).Int64())},
		D:         bigHex(t, v.D),
		Primes:    []*big.Int{bigHex(t, v.P), bigHex(t, v.Q)},
	}
	sk.Precompute()
	if err := sk.Validate(); err != nil {
		t.Fatal(err)
	}
	return sk
}

// TestRFC9474Vectors signs the blinded message of every RFC 9474 test
// vector and expects its blind signature.
func TestRFC9474Vectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			k, err := New(v.key(t))
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Sign(unhex(t, v.BlindedMsg))
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, v.BlindSig); !bytes.Equal(got, want) {
				t.Fatalf("blind_sig\n got %x\nwant %x", got, want)
			}
		})
	}
}

var (
	keysOnce sync.Once
	keys     []*rsa.PrivateKey
)

// randomKeys are fresh keys of several sizes (RSA-2048 above all, the size
// Blindpass uses), made once per test binary.
func randomKeys(t testing.TB) []*rsa.PrivateKey {
	keysOnce.Do(func() {
		sizes := []int{2048, 2048, 2048, 1024, 3072}
		if testing.Short() {
			sizes = []int{2048, 1024}
		}
		for _, bits := range sizes {
			sk, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			keys = append(keys, sk)
		}
	})
	return keys
}

// randomBelow is a random message of n's size below n, or one of the edge
// values 0, 1, n-1, n-2.
func randomBelow(t testing.TB, n *big.Int, i int) []byte {
	m := new(big.Int)
	switch i {
	case 0:
	case 1:
		m.SetInt64(1)
	case 2:
		m.Sub(n, big.NewInt(1))
	case 3:
		m.Sub(n, big.NewInt(2))
	default:
		var err error
		if m, err = rand.Int(rand.Reader, n); err != nil {
			t.Fatal(err)
		}
	}
	return m.FillBytes(make([]byte, (n.BitLen()+7)/8))
}

// TestDifferentialCircl compares Sign with circl's BlindSign, the signer it
// replaces, on random keys and messages: byte for byte.
func TestDifferentialCircl(t *testing.T) {
	per := 40
	if testing.Short() {
		per = 8
	}
	for ki, sk := range randomKeys(t) {
		k, err := New(sk)
		if err != nil {
			t.Fatalf("key %d: %v", ki, err)
		}
		ref := blindrsa.NewSigner(sk)
		for i := range per {
			m := randomBelow(t, sk.N, i)
			got, err := k.Sign(m)
			if err != nil {
				t.Fatalf("key %d (%d bits) message %d: %v", ki, sk.N.BitLen(), i, err)
			}
			want, err := ref.BlindSign(m)
			if err != nil {
				t.Fatalf("key %d message %d: circl: %v", ki, i, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("key %d (%d bits) message %x:\n got %x\nwant %x", ki, sk.N.BitLen(), m, got, want)
			}
		}
	}
}

// TestMessageChecks: RFC 9474 §4.2 refuses a message of another length than
// the modulus, and RSASP1 one that is not below n.
func TestMessageChecks(t *testing.T) {
	sk := randomKeys(t)[0]
	k, err := New(sk)
	if err != nil {
		t.Fatal(err)
	}
	size := k.Size()
	if size != 256 {
		t.Fatalf("Size = %d, want 256", size)
	}
	n := sk.N.FillBytes(make([]byte, size))
	nPlus1 := new(big.Int).Add(sk.N, big.NewInt(1)).FillBytes(make([]byte, size))
	ones := bytes.Repeat([]byte{0xff}, size)
	for _, c := range []struct {
		name string
		m    []byte
		want error
	}{
		{"empty", nil, ErrMessageLength},
		{"one byte short", make([]byte, size-1), ErrMessageLength},
		{"one byte long", make([]byte, size+1), ErrMessageLength},
		{"n", n, ErrMessageRange},
		{"n+1", nPlus1, ErrMessageRange},
		{"all ones", ones, ErrMessageRange},
	} {
		sig, err := k.Sign(c.m)
		if !errors.Is(err, c.want) || sig != nil {
			t.Errorf("%s: Sign = %x, %v; want nil, %v", c.name, sig, err, c.want)
		}
	}
}

// TestFaultNeverReturned corrupts each CRT value in turn: the result is then
// correct modulo at most one prime, which would reveal the factorisation.
// RFC 9474's check must catch it; no signature may come out.
func TestFaultNeverReturned(t *testing.T) {
	sk := randomKeys(t)[0]
	m := randomBelow(t, sk.N, 10)
	for _, c := range []struct {
		name    string
		corrupt func(k *PrivateKey)
	}{
		{"dP", func(k *PrivateKey) { k.dP[len(k.dP)-1] ^= 0x02 }},
		{"dQ", func(k *PrivateKey) { k.dQ[len(k.dQ)/2] ^= 0x80 }},
		{"qInv", func(k *PrivateKey) {
			b := k.qInv.Bytes(k.p)
			b[len(b)-1] ^= 1
			k.qInv = mustNat(t, b, k)
		}},
		{"q mod n", func(k *PrivateKey) {
			b := k.qN.Bytes(k.n)
			b[len(b)-3] ^= 0x10
			var err error
			if k.qN, err = natMod(b, k); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := New(sk)
			if err != nil {
				t.Fatal(err)
			}
			good, err := k.Sign(m)
			if err != nil {
				t.Fatal(err)
			}
			c.corrupt(k)
			sig, err := k.Sign(m)
			if !errors.Is(err, ErrFault) {
				t.Fatalf("Sign with a corrupted %s = %v, want ErrFault", c.name, err)
			}
			if sig != nil {
				t.Fatalf("Sign with a corrupted %s returned a signature", c.name)
			}
			if len(good) != k.Size() {
				t.Fatalf("uncorrupted signature of %d bytes", len(good))
			}
		})
	}
}

// TestFaultWouldLeakKey shows what the check prevents: with a corrupted dP
// the unchecked CRT result s' is right mod q and wrong mod p, and
// gcd(s'^e − m, n) is q (Boneh–DeMillo–Lipton). The signer's output path
// is the same computation; only the check stands between it and the client.
func TestFaultWouldLeakKey(t *testing.T) {
	sk := randomKeys(t)[0]
	k, err := New(sk)
	if err != nil {
		t.Fatal(err)
	}
	k.dP[len(k.dP)-1] ^= 0x02
	m := randomBelow(t, sk.N, 11)
	faulty := k.unchecked(t, m)
	e := big.NewInt(int64(sk.E))
	x := new(big.Int).Exp(new(big.Int).SetBytes(faulty), e, sk.N)
	x.Sub(x, new(big.Int).SetBytes(m))
	g := new(big.Int).GCD(nil, nil, x.Mod(x, sk.N), sk.N)
	if g.Cmp(sk.Primes[1]) != 0 {
		t.Fatalf("gcd = %v, want q: the fault model of this test is wrong", g)
	}
	if _, err := k.Sign(m); !errors.Is(err, ErrFault) {
		t.Fatalf("Sign = %v, want ErrFault", err)
	}
}

// TestNewRefusesBadKeys: keys whose parts do not fit together.
func TestNewRefusesBadKeys(t *testing.T) {
	base := randomKeys(t)[0]
	other := randomKeys(t)[1]
	clone := func() *rsa.PrivateKey {
		c := *base
		c.Primes = []*big.Int{new(big.Int).Set(base.Primes[0]), new(big.Int).Set(base.Primes[1])}
		c.D = new(big.Int).Set(base.D)
		c.Precomputed = rsa.PrecomputedValues{}
		return &c
	}
	for _, c := range []struct {
		name string
		sk   func() *rsa.PrivateKey
	}{
		{"nil", func() *rsa.PrivateKey { return nil }},
		{"one prime", func() *rsa.PrivateKey { c := clone(); c.Primes = c.Primes[:1]; return c }},
		{"even e", func() *rsa.PrivateKey { c := clone(); c.E = 65536; return c }},
		{"e = 1", func() *rsa.PrivateKey { c := clone(); c.E = 1; return c }},
		{"wrong d", func() *rsa.PrivateKey { c := clone(); c.D.Add(c.D, big.NewInt(2)); return c }},
		{"d of another key", func() *rsa.PrivateKey { c := clone(); c.D = new(big.Int).Set(other.D); return c }},
		{"p of another key", func() *rsa.PrivateKey { c := clone(); c.Primes[0] = other.Primes[0]; return c }},
		{"n+2", func() *rsa.PrivateKey { c := clone(); c.N = new(big.Int).Add(c.N, big.NewInt(2)); return c }},
	} {
		if _, err := New(c.sk()); !errors.Is(err, ErrKey) {
			t.Errorf("%s: New = %v, want ErrKey", c.name, err)
		}
	}
	if _, err := New(clone()); err != nil {
		t.Fatalf("the unchanged clone: %v", err)
	}
}

// TestConcurrentSign: one key signs from many goroutines (run with -race).
func TestConcurrentSign(t *testing.T) {
	sk := randomKeys(t)[0]
	k, err := New(sk)
	if err != nil {
		t.Fatal(err)
	}
	ref := blindrsa.NewSigner(sk)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 {
				m := randomBelow(t, sk.N, 10+g*3+i)
				got, err := k.Sign(m)
				want, _ := ref.BlindSign(m)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("goroutine %d: %v", g, err)
				}
			}
		})
	}
	wg.Wait()
}

// FuzzSign: any input either signs exactly like circl's BlindSign or is
// refused for its length or range, never panics.
func FuzzSign(f *testing.F) {
	v := loadVectors(f)[2]
	sk := v.key(f)
	k, err := New(sk)
	if err != nil {
		f.Fatal(err)
	}
	ref := blindrsa.NewSigner(sk)
	f.Add(unhex(f, v.BlindedMsg))
	f.Add(make([]byte, 256))
	f.Add(bytes.Repeat([]byte{0xff}, 256))
	f.Add(sk.N.Bytes())
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, m []byte) {
		got, err := k.Sign(m)
		switch {
		case len(m) != k.Size():
			if !errors.Is(err, ErrMessageLength) || got != nil {
				t.Fatalf("length %d: %x, %v", len(m), got, err)
			}
		case new(big.Int).SetBytes(m).Cmp(sk.N) >= 0:
			if !errors.Is(err, ErrMessageRange) || got != nil {
				t.Fatalf("m ≥ n: %x, %v", got, err)
			}
		default:
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.BlindSign(m)
			if err != nil {
				t.Fatalf("circl: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("m %x:\n got %x\nwant %x", m, got, want)
			}
		}
	})
}

// reviewedBigmod are the bigmod functions and methods rsacrt.go may call,
// each reviewed for constant time in the package comment. A new call fails
// TestNoSecretBranches until it is reviewed and added here.
var reviewedBigmod = map[string]string{
	"NewModulus":        "variable time in the bit length and parity only (public for n, p, q, p-1, q-1)",
	"NewModulusProduct": "n = p·q at load; same leak as NewModulus",
	"NewNat":            "allocation",
	"SetBytes":          "constant time; its error (m ≥ n) is on the public message",
	"Mod":               "constant time (shiftIn over all limbs)",
	"Exp":               "fixed 4-bit windows; table entry chosen by a full masked scan",
	"ExpShortVarTime":   "variable time in e only (public)",
	"Sub":               "constant time (masked add-back)",
	"SubOne":            "constant time",
	"Add":               "constant time (masked subtraction)",
	"Mul":               "Montgomery multiplication over all limbs, masked final subtraction",
	"ExpandFor":         "resizes to the modulus' limb count (public)",
	"Bytes":             "fixed-size encoding of all limbs",
	"Equal":             "mask over all limbs, no early exit",
	"IsOne":             "mask over all limbs, no early exit",
	"IsOdd":             "one masked bit (of the public primes' parity)",
	"Nat":               "copy of the modulus",
	"Size":              "of the public modulus",
}

// reviewedBig are the only math/big methods rsacrt.go may call: reading a
// key, never arithmetic on a secret.
var reviewedBig = map[string]bool{"FillBytes": true, "BitLen": true, "Sign": true, "Bit": true}

// TestNoSecretBranches checks mechanically what the package comment argues:
// the signer calls only reviewed constant-time bigmod operations, computes
// nothing with math/big, and Sign has no branch but on lengths, the public
// message's range and the outcome of the check.
func TestNoSecretBranches(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "rsacrt.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		name := sel.Sel.Name
		pkg := ""
		if id, ok := sel.X.(*ast.Ident); ok {
			pkg = id.Name
		}
		switch root := rootIdent(sel.X); {
		case root == "sk" || root == "pr":
			// The *rsa.PrivateKey's math/big values: read only.
			if !reviewedBig[name] {
				t.Errorf("%s: %s on the key's math/big values: only reads (%v) are allowed", fset.Position(call.Pos()), name, reviewedBig)
			}
		case pkg == "bigmod":
			calls = append(calls, name)
			if _, ok := reviewedBigmod[name]; !ok {
				t.Errorf("%s: bigmod.%s is not reviewed for constant time", fset.Position(call.Pos()), name)
			}
		case pkg == "fmt" || pkg == "errors" || pkg == "subtle":
		case pkg == "k" && (name == "Sign" || name == "crt"):
		case reviewedBig[name]:
		default:
			if _, ok := reviewedBigmod[name]; !ok {
				t.Errorf("%s: call of %s: neither a reviewed bigmod operation nor a read of the key", fset.Position(call.Pos()), name)
			}
		}
		return true
	})
	for _, imp := range f.Imports {
		if imp.Path.Value == `"math/big"` {
			t.Errorf("rsacrt.go imports math/big")
		}
	}
	// Sign's branches: on len(m), SetBytes' error, and the check.
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || (fn.Name.Name != "Sign" && fn.Name.Name != "crt") {
			continue
		}
		var conds []string
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch s := n.(type) {
			case *ast.IfStmt:
				conds = append(conds, exprString(fset, s.Cond))
			case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.IndexExpr:
				t.Errorf("%s: Sign has a loop, switch or index expression: review it", fset.Position(n.Pos()))
			}
			return true
		})
		sort.Strings(conds)
		if fn.Name.Name == "crt" {
			if len(conds) != 0 {
				t.Errorf("crt branches: %q", conds)
			}
			continue
		}
		want := []string{
			"bigmod.NewNat().ExpShortVarTime(s, k.e, k.n).Equal(c) != 1",
			"err != nil",
			"len(m) != k.size",
		}
		if strings.Join(conds, "\n") != strings.Join(want, "\n") {
			t.Errorf("Sign's branches changed; review them for constant time:\n%s", strings.Join(conds, "\n"))
		}
	}
	if len(calls) < 10 {
		t.Fatalf("found only %d bigmod calls: the check is not looking at the signer", len(calls))
	}
}

// rootIdent is the identifier an expression such as sk.Primes[0].N starts
// from ("" if none).
func rootIdent(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x.Name
		case *ast.SelectorExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		default:
			return ""
		}
	}
}

func exprString(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	if err := formatNode(&b, fset, e); err != nil {
		return "?"
	}
	return b.String()
}
