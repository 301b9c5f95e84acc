package protocol

import (
	"crypto/rsa"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"filippo.io/bigmod"
)

// RSASSA-PSS verification of token authenticators on a public key prepared
// once. rsa.VerifyPSS rebuilds the key's Montgomery modulus
// (bigmod.NewModulus, its R² mod N) on every call, about a third of a
// verification; pssKey keeps it, so a Verifier pays for it once per key.
//
// It lives here rather than in internal/rsacrt because it is token type 2's
// verification with its parameters fixed (SHA-384, MGF1-SHA-384, 48-byte
// salt, RFC 9578 §6), on public values only: rsacrt holds the secret-key
// operation and its constant-time review, which this code, variable time
// by design, has no part in. TestPSSMatchesCryptoRSA, TestPSSEncodingChecks
// and FuzzVerifyPSS hold it to crypto/rsa's verdicts.

// errPSS is every refusal; the reason is for logs (all values are public).
func errPSS(reason string) error {
	return fmt.Errorf("%w (%s)", rsa.ErrVerification, reason)
}

// pssKey is an RSA public key prepared for verification. Read-only after
// newPSSKey, so Verifier copies share it and it is safe for concurrent use.
type pssKey struct {
	n      *bigmod.Modulus
	e      uint
	size   int // k, the modulus length in bytes
	emBits int // modBits - 1
}

// newPSSKey prepares pub, refusing what crypto/rsa refuses: a modulus that
// is not odd and positive (bigmod's exponentiation would panic on an even
// one), e < 2, e even, e ≥ 2^31.
func newPSSKey(pub *rsa.PublicKey) (*pssKey, error) {
	if pub == nil || pub.N == nil || pub.N.Sign() <= 0 || pub.N.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: modulus is not odd and positive", ErrInvalidKey)
	}
	if pub.E < 2 || pub.E&1 == 0 || pub.E > 1<<31-1 {
		return nil, fmt.Errorf("%w: public exponent %d", ErrInvalidKey, pub.E)
	}
	size := (pub.N.BitLen() + 7) / 8
	n, err := bigmod.NewModulus(pub.N.FillBytes(make([]byte, size)))
	if err != nil {
		return nil, fmt.Errorf("%w: modulus: %w", ErrInvalidKey, err)
	}
	return &pssKey{n: n, e: uint(pub.E), size: size, emBits: pub.N.BitLen() - 1}, nil
}

// verify is RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) of sig over mHash, the
// SHA-384 digest of the message, with EMSA-PSS-VERIFY (§9.1.2) for SHA-384,
// MGF1-SHA-384 and sLen = 48. Variable time: every input is public.
func (k *pssKey) verify(mHash, sig []byte) error {
	const hLen, sLen = sha512.Size384, pssSaltLength
	// §8.1.2 step 1: exactly k bytes. Step 2 (RSAVP1): s < N, em = s^e mod N.
	if len(sig) != k.size {
		return errPSS("signature length")
	}
	s, err := bigmod.NewNat().SetBytes(sig, k.n)
	if err != nil {
		return errPSS("signature representative out of range")
	}
	em := bigmod.NewNat().ExpShortVarTime(s, k.e, k.n).Bytes(k.n)
	// I2OSP to emLen = ⌈emBits/8⌉, one byte short of k when modBits ≡ 1 mod 8.
	emLen := (k.emBits + 7) / 8
	if len(em) > emLen {
		if em[0] != 0 {
			return errPSS("encoded message too long")
		}
		em = em[1:]
	}
	// §9.1.2 steps 2–4.
	if len(mHash) != hLen || emLen < hLen+sLen+2 || em[emLen-1] != 0xbc {
		return errPSS("digest length, modulus size or trailer")
	}
	// Steps 5–6: maskedDB || H || 0xbc; the top 8·emLen − emBits bits are 0.
	db, h := em[:emLen-hLen-1], em[emLen-hLen-1:emLen-1]
	topMask := byte(0xff) >> (8*emLen - k.emBits)
	if db[0]&^topMask != 0 {
		return errPSS("top bits")
	}
	// Steps 7–9: DB = maskedDB ⊕ MGF1(H), top bits cleared.
	var in [hLen + 4]byte // H || counter
	copy(in[:], h)
	for i, c := 0, uint32(0); i < len(db); i, c = i+hLen, c+1 {
		binary.BigEndian.PutUint32(in[hLen:], c)
		mask := sha512.Sum384(in[:])
		subtle.XORBytes(db[i:], db[i:], mask[:])
	}
	db[0] &= topMask
	// Step 10: PS (zeros) || 0x01 || salt.
	psLen := emLen - hLen - sLen - 2
	for _, b := range db[:psLen] {
		if b != 0 {
			return errPSS("padding")
		}
	}
	if db[psLen] != 0x01 {
		return errPSS("separator")
	}
	// Steps 11–14: H' = SHA-384(0x00×8 || mHash || salt) must equal H.
	var mp [8 + hLen + sLen]byte
	copy(mp[8:], mHash)
	copy(mp[8+hLen:], db[len(db)-sLen:])
	if hp := sha512.Sum384(mp[:]); subtle.ConstantTimeCompare(hp[:], h) != 1 {
		return errPSS("hash mismatch")
	}
	return nil
}
