package voucher

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
)

// Sizes of a code.
const (
	PayloadSize = 16 // random bytes in a code
	dataChars   = 26 // base32 characters holding the payload
	checkChars  = 2  // base32 characters holding the checksum
	codeChars   = dataChars + checkChars
	groupSize   = 4
	checkMod    = 1021 // prime, < 32*32
)

// alphabet is Crockford's base32.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var (
	// ErrNotVoucher: the text does not have the shape of a voucher code
	// (wrong characters or far from the right length).
	ErrNotVoucher = errors.New("voucher: not a voucher code")
	// ErrTypo: the text looks like a voucher code but a character is
	// wrong, missing or extra.
	ErrTypo = errors.New("voucher: the code has a typo")
)

// values maps a character to its base32 value, -1 for characters that are
// not in codes and -2 for separators.
var values = func() [256]int8 {
	var v [256]int8
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		v[alphabet[i]] = int8(i)
		v[strings.ToLower(alphabet[i : i+1])[0]] = int8(i)
	}
	for _, c := range "oO" {
		v[c] = 0
	}
	for _, c := range "iIlL" {
		v[c] = 1
	}
	v['-'], v[' '] = -2, -2
	return v
}()

// New makes a random code and returns it formatted with its hash.
func New() (code string, hash []byte) {
	var p [PayloadSize]byte
	_, _ = rand.Read(p[:]) // never fails (crypto/rand)
	return Format(p), Hash(p[:])
}

// Format writes a payload as a grouped code.
func Format(payload [PayloadSize]byte) string {
	v := make([]int, 0, codeChars)
	var acc, bits uint
	for _, b := range payload {
		acc, bits = acc<<8|uint(b), bits+8
		for bits >= 5 {
			bits -= 5
			v = append(v, int(acc>>bits)&31)
		}
	}
	v = append(v, int(acc<<(5-bits))&31) // last 3 bits, 2 zero bits
	sum := checksum(v)
	v = append(v, sum>>5, sum&31)
	var b strings.Builder
	for i, x := range v {
		if i > 0 && i%groupSize == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[x])
	}
	return b.String()
}

func checksum(v []int) int {
	sum := 0
	for i, x := range v[:dataChars] {
		sum = (sum + (i+1)*x) % checkMod
	}
	return sum
}

// Parse reads a code (any case, with or without dashes or spaces) and
// returns its payload. ErrTypo when it has the shape of a code but not a
// valid one, ErrNotVoucher when it is something else.
func Parse(s string) ([]byte, error) {
	v := make([]int, 0, codeChars)
	bad := 0 // position (1-based) of the first character not in codes
	for i := 0; i < len(s); i++ {
		switch x := values[s[i]]; x {
		case -2:
		case -1:
			if bad == 0 {
				bad = len(v) + 1
			}
			v = append(v, 0)
		default:
			v = append(v, int(x))
		}
		if len(v) > codeChars+8 {
			return nil, ErrNotVoucher
		}
	}
	switch {
	case len(v) < codeChars-8:
		return nil, ErrNotVoucher
	case bad != 0 && len(v) != codeChars:
		return nil, ErrNotVoucher
	case bad != 0:
		return nil, fmt.Errorf("%w: character %d is not one that voucher codes use", ErrTypo, bad)
	case len(v) != codeChars:
		return nil, fmt.Errorf("%w: it has %d characters (without dashes), a voucher code has %d", ErrTypo, len(v), codeChars)
	}
	if sum := checksum(v); v[dataChars] != sum>>5 || v[dataChars+1] != sum&31 {
		return nil, fmt.Errorf("%w: its check characters do not match", ErrTypo)
	}
	if v[dataChars-1]&3 != 0 {
		return nil, fmt.Errorf("%w: character %d cannot end a voucher code's data", ErrTypo, dataChars)
	}
	out := make([]byte, 0, PayloadSize)
	var acc, bits uint
	for _, x := range v[:dataChars] {
		acc, bits = acc<<5|uint(x), bits+5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out, nil
}

// Hash is what the store keeps of a code: SHA-256 of its payload.
func Hash(payload []byte) []byte {
	h := sha256.Sum256(payload)
	return h[:]
}

// HashCode parses a code and returns its hash (errors as Parse).
func HashCode(s string) ([]byte, error) {
	p, err := Parse(s)
	if err != nil {
		return nil, err
	}
	h := Hash(p)
	clear(p)
	return h, nil
}
