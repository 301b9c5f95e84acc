// Package rsacrt is the RSA private operation of a blind signer (RSABSSA
// BlindSign, RFC 9474 §4.2) on the Chinese Remainder Theorem, computed with
// constant-time modular arithmetic (filippo.io/bigmod, the code behind Go's
// crypto/rsa). It replaces circl's BlindSign, which runs the whole
// exponentiation modulo n with math/big: about three times slower, and
// math/big is not constant time.
//
// New derives the CRT values of a key once (dP = d mod (p-1),
// dQ = d mod (q-1), qInv = q^-1 mod p), with bigmod only: no math/big
// arithmetic touches a secret value. Sign computes
//
//	s_p = m^dP mod p, s_q = m^dQ mod q
//	h   = (s_p - s_q) · qInv mod p
//	s   = s_q + q·h                    (Garner's recombination, exact below n)
//
// and, as RFC 9474 §4.2 step 4 requires, checks that s^e mod n == m before
// returning s: a fault in the computation (a corrupted CRT value, a glitch)
// would otherwise hand out a signature that is correct modulo one prime only,
// from which anyone can factor n (Boneh–DeMillo–Lipton). Such a signature is
// never returned: Sign reports ErrFault instead.
//
// # Constant time
//
// What may be public: n, e, the bit lengths of p and q (half of n's), the
// message m (the client's blinded message) and whether the check passed.
// Everything else (d, p, q, dP, dQ, qInv, s_p, s_q, h, s) is secret. The
// review that backs "no secret-dependent branch or table lookup":
//
//   - This package never branches on, indexes with, or loops over a secret:
//     its only branches are on lengths (of n, of the message), on errors of
//     SetBytes on the public m, on the key's shape at New, and on the
//     outcome of the final check (whose failure is the public event "fault").
//   - Every operation on secrets is a bigmod call documented constant time:
//     Mod, Sub, Add, Mul (Montgomery multiplication over all limbs, final
//     subtraction by mask), Exp (fixed 4-bit windows over every byte of the
//     exponent; the window's table entry is selected by scanning all 15
//     entries with a constant-time mask, so no secret-indexed load), SubOne,
//     Bytes, Equal/IsOne (masks, no early exit).
//   - Exponents are encoded at fixed length (dP, dQ at the size of p-1 and
//     q-1; p-2 at the size of p), so the number of squarings does not depend
//     on their leading zero bytes.
//   - The variable-time calls are on public values only: NewModulus leaks
//     the bit length and parity of p, q, p-1, q-1 (all public for an
//     RSA-2048 key from Go's generator), ExpShortVarTime leaks e, and
//     Modulus.BitLen is of n, p, q.
//   - math/big is only read, never computed with: New copies d, p and q out
//     of the *rsa.PrivateKey with FillBytes into fixed-size buffers.
//
// TestNoSecretBranches (rsacrt_test.go) keeps this honest mechanically: it
// lists every call this file makes into bigmod and fails when one outside
// the reviewed list appears, or when Sign gains a branch. BenchmarkLeakage
// (leak_test.go) checks the running time statistically (dudect-style
// Welch's t-test across keys and across messages).
package rsacrt

import (
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"

	"filippo.io/bigmod"
)

var (
	// ErrKey: the private key is not a consistent two-prime RSA key.
	ErrKey = errors.New("rsacrt: invalid private key")
	// ErrMessageLength: the message is not exactly as long as the modulus
	// (RFC 9474 §4.2: "If len(blind_msg) != modulus_len, raise an error").
	ErrMessageLength = errors.New("rsacrt: message length is not the modulus length")
	// ErrMessageRange: the message, read as an integer, is not below n
	// (RFC 9474 §4.2 step 1, RSASP1: "message representative out of range").
	ErrMessageRange = errors.New("rsacrt: message representative out of range")
	// ErrFault: the computed signature does not verify under the public key
	// (RFC 9474 §4.2 step 4, "signing failure"). It is never returned to a
	// caller as a signature.
	ErrFault = errors.New("rsacrt: signature failed its check (fault)")
)

// PrivateKey is an RSA private key prepared for CRT signing. It is read-only
// after New and safe for concurrent use.
type PrivateKey struct {
	n    *bigmod.Modulus
	p, q *bigmod.Modulus
	e    uint
	dP   []byte      // d mod (p-1), big-endian, at the size of p-1
	dQ   []byte      // d mod (q-1), big-endian, at the size of q-1
	qInv *bigmod.Nat // q^-1 mod p
	qN   *bigmod.Nat // q as an element mod n, for the recombination
	size int         // len(n) in bytes
}

// New checks sk and derives its CRT values. sk must be a two-prime key with
// an odd public exponent e ≥ 3. New signs one value and checks it, so a key
// whose parts do not fit together is refused here rather than at each Sign.
func New(sk *rsa.PrivateKey) (*PrivateKey, error) {
	if sk == nil || sk.N == nil || sk.D == nil || len(sk.Primes) != 2 ||
		sk.Primes[0] == nil || sk.Primes[1] == nil {
		return nil, fmt.Errorf("%w: not a two-prime RSA private key", ErrKey)
	}
	if sk.E < 3 || sk.E&1 == 0 || uint64(sk.E) > 1<<32 {
		return nil, fmt.Errorf("%w: public exponent %d", ErrKey, sk.E)
	}
	if sk.N.Sign() <= 0 || sk.N.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: modulus is not odd and positive", ErrKey)
	}
	size := (sk.N.BitLen() + 7) / 8
	nBytes := sk.N.FillBytes(make([]byte, size))
	N, err := bigmod.NewModulus(nBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: modulus: %w", ErrKey, err)
	}
	for _, pr := range sk.Primes {
		if pr.Sign() <= 0 || pr.BitLen() < 2 || pr.BitLen() > sk.N.BitLen() {
			return nil, fmt.Errorf("%w: prime out of range", ErrKey)
		}
	}
	// FillBytes copies the limbs at a fixed size: no arithmetic on secrets.
	pBytes := sk.Primes[0].FillBytes(make([]byte, (sk.Primes[0].BitLen()+7)/8))
	qBytes := sk.Primes[1].FillBytes(make([]byte, (sk.Primes[1].BitLen()+7)/8))
	dBytes := make([]byte, size)
	if sk.D.Sign() <= 0 || sk.D.BitLen() > sk.N.BitLen() {
		return nil, fmt.Errorf("%w: private exponent out of range", ErrKey)
	}
	sk.D.FillBytes(dBytes)
	defer clear(dBytes)

	P, err := bigmod.NewModulus(pBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: p: %w", ErrKey, err)
	}
	Q, err := bigmod.NewModulus(qBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: q: %w", ErrKey, err)
	}
	if P.Nat().IsOdd() != 1 || Q.Nat().IsOdd() != 1 {
		return nil, fmt.Errorf("%w: a prime is even", ErrKey)
	}
	// n == p·q, compared in constant time.
	PQ, err := bigmod.NewModulusProduct(pBytes, qBytes)
	if err != nil || PQ.Size() != size ||
		subtle.ConstantTimeCompare(PQ.Nat().Bytes(PQ), nBytes) != 1 {
		return nil, fmt.Errorf("%w: n is not p·q", ErrKey)
	}
	d, err := bigmod.NewNat().SetBytes(dBytes, N)
	if err != nil {
		return nil, fmt.Errorf("%w: d is not below n", ErrKey)
	}

	dP, err := reduceExponent(d, P)
	if err != nil {
		return nil, err
	}
	dQ, err := reduceExponent(d, Q)
	if err != nil {
		return nil, err
	}
	// qInv = q^(p-2) mod p (Fermat: p is prime), in constant time; the check
	// qInv·q ≡ 1 (mod p) refuses a p that is not prime enough for that.
	qModP := bigmod.NewNat().Mod(Q.Nat(), P)
	pMinus2 := P.Nat().SubOne(P).SubOne(P).Bytes(P)
	qInv := bigmod.NewNat().Exp(qModP, pMinus2, P)
	if bigmod.NewNat().ExpandFor(P).Mod(qInv, P).Mul(qModP, P).IsOne() != 1 {
		return nil, fmt.Errorf("%w: q has no inverse mod p", ErrKey)
	}

	k := &PrivateKey{
		n: N, p: P, q: Q, e: uint(sk.E),
		dP: dP, dQ: dQ, qInv: qInv,
		qN:   bigmod.NewNat().Mod(Q.Nat(), N),
		size: size,
	}
	// Self-test on a fixed message: catches a d that does not match e.
	probe := make([]byte, size)
	probe[size-1] = 2
	if _, err := k.Sign(probe); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return k, nil
}

// reduceExponent is d mod (r-1), encoded at the size of r-1.
func reduceExponent(d *bigmod.Nat, r *bigmod.Modulus) ([]byte, error) {
	rm1 := r.Nat().SubOne(r)
	M, err := bigmod.NewModulus(rm1.Bytes(r))
	if err != nil {
		return nil, fmt.Errorf("%w: prime minus one: %w", ErrKey, err)
	}
	return bigmod.NewNat().Mod(d, M).Bytes(M), nil
}

// Size is the length of the modulus, of every message and of every
// signature, in bytes.
func (k *PrivateKey) Size() int { return k.size }

// Sign is RSASP1 (RFC 8017 §5.2.1) on CRT followed by RFC 9474's check: it
// returns m^d mod n, big-endian at the modulus size, after checking that it
// verifies. m must be exactly Size bytes and below n.
func (k *PrivateKey) Sign(m []byte) ([]byte, error) {
	if len(m) != k.size {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMessageLength, len(m), k.size)
	}
	c, err := bigmod.NewNat().SetBytes(m, k.n)
	if err != nil {
		return nil, ErrMessageRange
	}
	s := k.crt(c)

	// RFC 9474 §4.2 step 4: m' = RSAVP1(pk, s); if m' != m, fail.
	if bigmod.NewNat().ExpShortVarTime(s, k.e, k.n).Equal(c) != 1 {
		return nil, ErrFault
	}
	return s.Bytes(k.n), nil
}

// crt is c^d mod n on CRT, with no check. It has no branch at all.
func (k *PrivateKey) crt(c *bigmod.Nat) *bigmod.Nat {
	t := bigmod.NewNat()
	// s_p = m^dP mod p, s_q = m^dQ mod q.
	sp := bigmod.NewNat().Exp(t.Mod(c, k.p), k.dP, k.p)
	sq := bigmod.NewNat().Exp(t.Mod(c, k.q), k.dQ, k.q)
	// h = (s_p - s_q) · qInv mod p.
	h := sp.Sub(t.Mod(sq, k.p), k.p).Mul(k.qInv, k.p)
	// s = s_q + q·h: h < p and s_q < q, so q·h + s_q ≤ (p-1)q + q-1 < n and
	// both steps mod n are exact.
	s := h.ExpandFor(k.n).Mul(k.qN, k.n).Add(sq.ExpandFor(k.n), k.n)

	return s
}
