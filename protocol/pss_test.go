package protocol

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// The verifier in pss.go against crypto/rsa: it must accept exactly what
// rsa.VerifyPSS with SHA-384 and a 48-byte salt accepts.

var pssOpts = &rsa.PSSOptions{SaltLength: pssSaltLength, Hash: crypto.SHA384}

// cryptoRSAAccepts is crypto/rsa's verdict, the reference.
func cryptoRSAAccepts(pub *rsa.PublicKey, digest, sig []byte) bool {
	return rsa.VerifyPSS(pub, crypto.SHA384, digest, sig, pssOpts) == nil
}

// vectorAndFreshKeys are the two vector keys and fresh RSA-2048 keys (two,
// one with -short: key generation is slow).
func vectorAndFreshKeys(t testing.TB) []*rsa.PrivateKey {
	t.Helper()
	a, b := keys(t)
	sks := []*rsa.PrivateKey{a, b}
	fresh := 2
	if testing.Short() {
		fresh = 1
	}
	for range fresh {
		sk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		sks = append(sks, sk)
	}
	return sks
}

// TestPSSMatchesCryptoRSA: for each key and many random messages, valid
// signatures and a catalogue of invalid ones get the same verdict from the
// prepared verifier as from rsa.VerifyPSS, and the verdict expected.
func TestPSSMatchesCryptoRSA(t *testing.T) {
	msgs := 40
	if testing.Short() {
		msgs = 10
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, seed>>1))
	var aliases int // valid signatures s with s+N still Nk bytes long
	for ki, sk := range vectorAndFreshKeys(t) {
		pub := &sk.PublicKey
		k, err := newPSSKey(pub)
		if err != nil {
			t.Fatalf("key %d: %v", ki, err)
		}
		check := func(name string, digest, sig []byte, wantOK bool) {
			t.Helper()
			ref := cryptoRSAAccepts(pub, digest, sig)
			err := k.verify(digest, sig)
			if (err == nil) != ref || ref != wantOK {
				t.Errorf("key %d, %s: ours err = %v, crypto/rsa accepts = %v, want accepted = %v", ki, name, err, ref, wantOK)
			}
		}
		sign := func(digest []byte, saltLen int) []byte {
			t.Helper()
			sig, err := rsa.SignPSS(rand.Reader, sk, crypto.SHA384, digest, &rsa.PSSOptions{SaltLength: saltLen, Hash: crypto.SHA384})
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
		for range msgs {
			msg := make([]byte, rng.IntN(300))
			for j := range msg {
				msg[j] = byte(rng.Uint32())
			}
			d := sha512.Sum384(msg)
			sig := sign(d[:], pssSaltLength)
			check("valid", d[:], sig, true)

			// Single-bit flips: the first and last bit and sampled ones.
			positions := []int{0, 7, 8*Nk - 8, 8*Nk - 1}
			for range 24 {
				positions = append(positions, rng.IntN(8*Nk))
			}
			for _, p := range positions {
				c := bytes.Clone(sig)
				c[p/8] ^= 0x80 >> (p % 8)
				check("bit flip", d[:], c, false)
			}

			// Lengths other than k, including the same integer encoded
			// with a leading zero byte.
			check("k-1 bytes", d[:], sig[1:], false)
			check("k-1 bytes (last dropped)", d[:], sig[:Nk-1], false)
			check("k+1 bytes, leading zero", d[:], append([]byte{0}, sig...), false)
			check("k+1 bytes, trailing zero", d[:], append(bytes.Clone(sig), 0), false)
			check("empty", d[:], []byte{}, false)
			check("nil", d[:], nil, false)

			// The same residue plus N, when it still fits in k bytes.
			s := new(big.Int).SetBytes(sig)
			if alias := s.Add(s, sk.N); alias.BitLen() <= 8*Nk {
				aliases++
				check("s+N", d[:], alias.FillBytes(make([]byte, Nk)), false)
			}

			// Another message, a digest of the wrong length.
			other := sha512.Sum384(append(msg, 0))
			check("other message", other[:], sig, false)
			check("digest 47 bytes", d[:47], sig, false)
			check("no digest", nil, sig, false)

			// Other salt lengths (PSSSaltLengthAuto: the longest possible).
			for _, sl := range []int{0, 32, 64, rsa.PSSSaltLengthAuto} {
				check("salt length "+strconv.Itoa(sl), d[:], sign(d[:], sl), false)
			}
		}
		// Values at and above the modulus, and the trivial ones below.
		d := sha512.Sum384([]byte("blindpass"))
		n := sk.N.FillBytes(make([]byte, Nk))
		nPlus1 := new(big.Int).Add(sk.N, big.NewInt(1)).FillBytes(make([]byte, Nk))
		nMinus1 := new(big.Int).Sub(sk.N, big.NewInt(1)).FillBytes(make([]byte, Nk))
		check("N", d[:], n, false)
		check("N+1", d[:], nPlus1, false)
		check("N-1", d[:], nMinus1, false)
		check("all ones", d[:], bytes.Repeat([]byte{0xff}, Nk), false)
		check("zero", d[:], make([]byte, Nk), false)
		one := make([]byte, Nk)
		one[Nk-1] = 1
		check("one", d[:], one, false)
	}
	t.Logf("%d signatures also checked as s+N", aliases)
}

// TestPSSEncodingChecks gives each EMSA-PSS-VERIFY check (RFC 8017 §9.1.2)
// a witness that only it refuses: a valid encoded message EM (RSAVP1 of a
// valid signature) is altered in one field and signed again with the raw
// private operation, so that RSAVP1 yields exactly the altered EM. A byte of
// PS, the 0x01 separator, the 0xbc trailer and the top bit are not covered
// by H, so a verifier that skipped one of those checks would accept; a salt
// byte is caught by H' ≠ H alone. It also checks a valid signature whose
// first byte is zero: as k−1 bytes it is the same integer, and only the
// length check refuses it.
func TestPSSEncodingChecks(t *testing.T) {
	const hLen, sLen = sha512.Size384, pssSaltLength
	const psLen = Nk - hLen - sLen - 2 // emLen = k for RSA-2048
	var topBit, leadingZero int
	for ki, sk := range vectorAndFreshKeys(t) {
		pub := &sk.PublicKey
		k, err := newPSSKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := NewSigner(sk)
		if err != nil {
			t.Fatal(err)
		}
		// refused: sig must be refused by both verifiers.
		refused := func(name string, digest, sig []byte) {
			t.Helper()
			ref := cryptoRSAAccepts(pub, digest, sig)
			if err := k.verify(digest, sig); err == nil || ref {
				t.Errorf("key %d, %s: ours err = %v, crypto/rsa accepts = %v, want both to refuse", ki, name, err, ref)
			}
		}
		for i := range 8 {
			d := sha512.Sum384([]byte{byte(ki), byte(i)})
			sig, err := rsa.SignPSS(rand.Reader, sk, crypto.SHA384, d[:], pssOpts)
			if err != nil {
				t.Fatal(err)
			}
			em := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(int64(sk.E)), sk.N).FillBytes(make([]byte, Nk))
			// resigned is em altered by f and signed raw; ok is false when
			// the altered EM is not below N (no signature gives it).
			resigned := func(f func(em []byte)) (sig []byte, ok bool) {
				c := bytes.Clone(em)
				f(c)
				s, err := signer.key.Sign(c)
				return s, err == nil
			}
			// Control: EM unchanged, re-signed raw, is the valid signature.
			if s, ok := resigned(func([]byte) {}); !ok || !bytes.Equal(s, sig) {
				t.Fatalf("key %d: raw re-signing of a valid EM does not give the signature back", ki)
			}
			// maskedDB ⊕ MGF1(H) is bytewise, so flipping maskedDB[j]
			// flips DB[j] and leaves the rest (and H) alone.
			for name, f := range map[string]func([]byte){
				"PS byte 1 nonzero":       func(em []byte) { em[1] ^= 0x01 },
				"PS middle byte nonzero":  func(em []byte) { em[psLen/2] ^= 0x40 },
				"PS last byte nonzero":    func(em []byte) { em[psLen-1] ^= 0x80 },
				"PS first byte, bit 0":    func(em []byte) { em[0] ^= 0x01 },
				"separator 0x00":          func(em []byte) { em[psLen] ^= 0x01 },
				"separator 0x03":          func(em []byte) { em[psLen] ^= 0x02 },
				"salt first byte":         func(em []byte) { em[psLen+1] ^= 0x01 },
				"salt last byte":          func(em []byte) { em[psLen+sLen] ^= 0x10 },
				"H byte":                  func(em []byte) { em[Nk-hLen-1] ^= 0x01 },
				"trailer 0xbd":            func(em []byte) { em[Nk-1] ^= 0x01 },
				"trailer 0x3c":            func(em []byte) { em[Nk-1] ^= 0x80 },
				"salt 47 (PS one longer)": func(em []byte) { em[psLen] ^= 0x01; em[psLen+1] ^= 0x01 },
			} {
				if s, ok := resigned(f); ok {
					refused("EM with "+name, d[:], s)
				}
			}
			// The top bit of EM (8·emLen − emBits = 1 bit for RSA-2048):
			// signable only when EM + 2^2047 is still below N.
			if s, ok := resigned(func(em []byte) { em[0] |= 0x80 }); ok {
				topBit++
				refused("EM with its top bit set", d[:], s)
			}
			if sig[0] == 0 {
				leadingZero++
			}
			// H that differs from H' in one byte only: EM built from
			// scratch (encodeEM, the test's own EMSA-PSS-ENCODE) with H
			// altered before masking, so everything else is consistent
			// and only a full-length H' == H comparison refuses it.
			salt := make([]byte, sLen)
			rand.Read(salt)
			for _, j := range []int{-1, 0, hLen / 2, hLen - 1} {
				emj := encodeEM(d[:], salt, j)
				s, err := signer.key.Sign(emj)
				if err != nil {
					t.Fatal(err) // the top bit of EM is 0: always below N
				}
				if j < 0 {
					if err := k.verify(d[:], s); err != nil || !cryptoRSAAccepts(pub, d[:], s) {
						t.Fatalf("key %d: EM from encodeEM refused (ours: %v): the test's encoder is wrong", ki, err)
					}
					continue
				}
				refused("H differing from H' in byte "+strconv.Itoa(j), d[:], s)
			}
		}
		// A valid signature whose first byte is zero, found by signing
		// until one comes (1 in 256), on the first key only.
		if ki == 0 {
			for j := 0; j < 4096; j++ {
				d := sha512.Sum384([]byte{0xff, byte(j), byte(j >> 8)})
				sig, err := rsa.SignPSS(rand.Reader, sk, crypto.SHA384, d[:], pssOpts)
				if err != nil {
					t.Fatal(err)
				}
				if sig[0] != 0 {
					continue
				}
				leadingZero++
				if err := k.verify(d[:], sig); err != nil || !cryptoRSAAccepts(pub, d[:], sig) {
					t.Fatalf("valid signature with a leading zero byte refused: %v", err)
				}
				refused("the same integer as k−1 bytes", d[:], sig[1:])
				refused("the same integer as k+1 bytes", d[:], append([]byte{0}, sig...))
				break
			}
		}
	}
	if leadingZero == 0 {
		t.Error("no signature with a leading zero byte came up")
	}
	t.Logf("top bit witness on %d EMs", topBit)
}

// encodeEM is EMSA-PSS-ENCODE (RFC 8017 §9.1.1) for SHA-384, MGF1-SHA-384
// and emBits = 2047, written out independently of pss.go; with flip ≥ 0,
// byte flip of H is altered before it masks DB.
func encodeEM(mHash, salt []byte, flip int) []byte {
	const hLen = sha512.Size384
	h := sha512.New384()
	h.Write(make([]byte, 8))
	h.Write(mHash)
	h.Write(salt)
	H := h.Sum(nil)
	if flip >= 0 {
		H[flip] ^= 0x01
	}
	db := make([]byte, Nk-hLen-1) // PS || 0x01 || salt
	db[len(db)-len(salt)-1] = 0x01
	copy(db[len(db)-len(salt):], salt)
	for c, i := uint32(0), 0; i < len(db); c, i = c+1, i+hLen {
		h.Reset()
		h.Write(H)
		h.Write([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
		for j, b := range h.Sum(nil) {
			if i+j < len(db) {
				db[i+j] ^= b
			}
		}
	}
	db[0] &= 0x7f
	return append(append(db, H...), 0xbc)
}

// TestVerifierIssuancePath: tokens from the issuer's blind-signing path
// (NewTokenRequest, Signer.BlindSign, Finalize) verify under the prepared
// Verifier and under crypto/rsa, and every tampered authenticator is
// refused by both.
func TestVerifierIssuancePath(t *testing.T) {
	for ki, sk := range vectorAndFreshKeys(t) {
		pub := &sk.PublicKey
		s, err := NewSigner(sk)
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewVerifier(pub)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			req, state, err := NewTokenRequest(rand.Reader, pub, testChallenge)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.BlindSign(req)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := state.Finalize(resp)
			if err != nil {
				t.Fatal(err)
			}
			d := sha512.Sum384(tok.AuthenticatorInput())
			if err := v.Verify(tok); err != nil || !cryptoRSAAccepts(pub, d[:], tok.Authenticator) {
				t.Fatalf("key %d token %d: Verify = %v, crypto/rsa accepts = %v", ki, i, err, cryptoRSAAccepts(pub, d[:], tok.Authenticator))
			}
			for range 16 {
				c := tok
				c.Authenticator = bytes.Clone(tok.Authenticator)
				p := mrand.IntN(8 * Nk)
				c.Authenticator[p/8] ^= 0x80 >> (p % 8)
				if err := v.Verify(c); !errors.Is(err, ErrInvalidSignature) || cryptoRSAAccepts(pub, d[:], c.Authenticator) {
					t.Fatalf("key %d token %d bit %d: Verify = %v, crypto/rsa accepts = %v", ki, i, p, err, cryptoRSAAccepts(pub, d[:], c.Authenticator))
				}
			}
		}
	}
}

// TestPSSKeyRejects: keys crypto/rsa would refuse (and on which bigmod's
// exponentiation would panic: an even modulus) are refused when the
// Verifier is made, not at each Verify.
func TestPSSKeyRejects(t *testing.T) {
	sk, _ := keys(t)
	with := func(f func(*rsa.PublicKey)) *rsa.PublicKey {
		p := &rsa.PublicKey{N: new(big.Int).Set(sk.N), E: sk.E}
		f(p)
		return p
	}
	for name, pub := range map[string]*rsa.PublicKey{
		"nil":              nil,
		"no modulus":       {E: 65537},
		"even modulus":     with(func(p *rsa.PublicKey) { p.N.SetBit(p.N, 0, 0) }),
		"negative modulus": with(func(p *rsa.PublicKey) { p.N.Neg(p.N) }),
		"e = 1":            with(func(p *rsa.PublicKey) { p.E = 1 }),
		"e even":           with(func(p *rsa.PublicKey) { p.E = 65536 }),
		"e ≥ 2^31":         with(func(p *rsa.PublicKey) { p.E = 1<<31 + 1 }),
		"1024-bit modulus": with(func(p *rsa.PublicKey) { p.N.Rsh(p.N, 1024); p.N.SetBit(p.N, 0, 1) }),
	} {
		if _, err := NewVerifier(pub); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("NewVerifier(%s) = %v, want ErrInvalidKey", name, err)
		}
	}
}

// FuzzVerifyPSS: for arbitrary messages and signatures the verifier's
// verdict is crypto/rsa's, and nothing panics. With asEM the bytes are the
// encoded message EM instead: the fuzzer's value is signed with the raw
// private operation (when it is k bytes below N), so RSAVP1 gives it back
// and every EMSA-PSS check (trailer, top bits, PS, separator, H) is
// reachable by mutating a valid EM.
func FuzzVerifyPSS(f *testing.F) {
	sk, _ := keys(f)
	pub := &sk.PublicKey
	k, err := newPSSKey(pub)
	if err != nil {
		f.Fatal(err)
	}
	signer, err := NewSigner(sk)
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range loadIssuance(f) {
		tok, err := ParseToken(v.Token)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok.AuthenticatorInput(), tok.Authenticator, false)
		if p := parsePEMKey(f, v.SkS); p.N.Cmp(sk.N) == 0 {
			em := new(big.Int).Exp(new(big.Int).SetBytes(tok.Authenticator), big.NewInt(int64(p.E)), p.N)
			f.Add(tok.AuthenticatorInput(), em.FillBytes(make([]byte, Nk)), true)
		}
	}
	f.Add([]byte{}, []byte{}, false)
	f.Add([]byte("m"), sk.N.FillBytes(make([]byte, Nk)), false)
	f.Fuzz(func(t *testing.T, msg, b []byte, asEM bool) {
		sig := b
		if asEM {
			if s, err := signer.key.Sign(b); err == nil {
				sig = s
			}
		}
		d := sha512.Sum384(msg)
		ref := cryptoRSAAccepts(pub, d[:], sig)
		if err := k.verify(d[:], sig); (err == nil) != ref {
			t.Fatalf("ours: %v, crypto/rsa accepts: %v (sig %x)", err, ref, sig)
		}
	})
}

// BenchmarkVerify compares the redeemer's path, a Verifier prepared once,
// with what Verify did before: SHA-384 of the token input and
// rsa.VerifyPSS, which rebuilds the key's Montgomery modulus each call.
// Compare runs both interleaved (a busy machine slows both alike) and
// reports the ratio.
//
//	go test -run - -bench Verify -benchtime 3s ./protocol
func BenchmarkVerify(b *testing.B) {
	pub, tok := vectorToken(b)
	ver, err := NewVerifier(pub)
	if err != nil {
		b.Fatal(err)
	}
	prepared := func() error { return ver.Verify(tok) }
	viaRSA := func() error {
		d := sha512.Sum384(tok.AuthenticatorInput())
		return rsa.VerifyPSS(pub, crypto.SHA384, d[:], tok.Authenticator, pssOpts)
	}
	for _, bm := range []struct {
		name string
		f    func() error
	}{{"Verifier", prepared}, {"VerifyPSS", viaRSA}} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				if err := bm.f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Compare", func(b *testing.B) {
		var tv, tr time.Duration
		n := 0
		for b.Loop() {
			t0 := time.Now()
			if err := prepared(); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := viaRSA(); err != nil {
				b.Fatal(err)
			}
			tv += t1.Sub(t0)
			tr += time.Since(t1)
			n++
		}
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(float64(tv.Nanoseconds())/float64(n), "verifier-ns")
		b.ReportMetric(float64(tr.Nanoseconds())/float64(n), "verifypss-ns")
		b.ReportMetric(float64(tr)/float64(tv), "verifypss/verifier")
	})
}
