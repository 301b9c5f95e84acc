package voucher

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
)

var codePattern = regexp.MustCompile(`^([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$`)

func TestRoundTrip(t *testing.T) {
	for range 200 {
		code, hash := New()
		if !codePattern.MatchString(code) {
			t.Fatalf("code %q does not have the documented shape", code)
		}
		for _, variant := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", ""),
			strings.ReplaceAll(code, "-", " "), " " + code + " "} {
			p, err := Parse(variant)
			if err != nil {
				t.Fatalf("Parse(%q): %v", variant, err)
			}
			if want := sha256.Sum256(p); !bytes.Equal(hash, want[:]) || !bytes.Equal(Hash(p), hash) {
				t.Fatalf("hash of %q differs", variant)
			}
			if Format([PayloadSize]byte(p)) != code {
				t.Fatalf("Format(Parse(%q)) != %q", variant, code)
			}
		}
	}
}

func TestKnownCode(t *testing.T) {
	var p [PayloadSize]byte // all zero: 26 zeros, checksum 0
	if got := Format(p); got != "0000-0000-0000-0000-0000-0000-0000" {
		t.Fatalf("Format(zero) = %s", got)
	}
	for i := range p {
		p[i] = 0xff
	}
	// 25 × 'Z' (31) and 'W' (28: 3 bits 111 then 00); sum = 31·(1+…+25) + 26·28 = 10803 mod 1021 = 593 = 18·32 + 17.
	if got := Format(p); got != "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZWJH" {
		t.Fatalf("Format(0xff…) = %s", got)
	}
}

// Crockford's confusable letters read as the digits they look like.
func TestConfusables(t *testing.T) {
	code := "0000-0000-0000-0000-0000-0000-0000"
	for _, variant := range []string{"oooo-OOOO-0000-0000-0000-0000-0000", code} {
		if _, err := Parse(variant); err != nil {
			t.Errorf("Parse(%q): %v", variant, err)
		}
	}
	var p [PayloadSize]byte
	p[0] = 0x08 // first character 1
	one := Format(p)
	for _, c := range []string{"I", "i", "L", "l"} {
		if _, err := Parse(c + one[1:]); err != nil {
			t.Errorf("Parse with %s for 1: %v", c, err)
		}
	}
}

// Every single substitution and every swap of neighbours is a typo.
func TestTyposAreCaught(t *testing.T) {
	for range 20 {
		code, _ := New()
		plain := strings.ReplaceAll(code, "-", "")
		for i := range plain {
			for _, c := range alphabet + "U*" {
				if byte(c) == plain[i] {
					continue
				}
				typo := plain[:i] + string(c) + plain[i+1:]
				if _, err := Parse(typo); !errors.Is(err, ErrTypo) {
					t.Fatalf("substitution %q → %q: %v, want ErrTypo", plain, typo, err)
				}
			}
			// A swap of the last data character with the first check
			// character is caught only with probability 1020/1021.
			if i+1 < len(plain) && i+1 != dataChars && plain[i] != plain[i+1] {
				swap := plain[:i] + plain[i+1:i+2] + plain[i:i+1] + plain[i+2:]
				if _, err := Parse(swap); !errors.Is(err, ErrTypo) {
					t.Fatalf("swap at %d %q → %q: %v, want ErrTypo", i, plain, swap, err)
				}
			}
		}
		for _, typo := range []string{plain[1:], plain + "0", plain[:10] + plain[11:]} {
			if _, err := Parse(typo); !errors.Is(err, ErrTypo) {
				t.Fatalf("wrong length %q: %v, want ErrTypo", typo, err)
			}
		}
	}
}

func TestNotVoucher(t *testing.T) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	for _, s := range []string{
		"",
		"hello",
		base64.RawURLEncoding.EncodeToString(secret),
		strings.Repeat("0", 43), // a secret's length, voucher characters only
		"0000-0000-0000-0000-0000-0000-0000-0000-0000-0000",
		"Bearer 0000",
		"ÄÄÄÄ-0000-0000-0000-0000-0000-0000",
	} {
		if _, err := Parse(s); !errors.Is(err, ErrNotVoucher) {
			t.Errorf("Parse(%q) = %v, want ErrNotVoucher", s, err)
		}
	}
}

func TestHashCode(t *testing.T) {
	code, hash := New()
	got, err := HashCode(strings.ToLower(strings.ReplaceAll(code, "-", "")))
	if err != nil || !bytes.Equal(got, hash) {
		t.Fatalf("HashCode = %x, %v; want %x", got, err, hash)
	}
	if _, err := HashCode("nope"); !errors.Is(err, ErrNotVoucher) {
		t.Fatalf("HashCode(nope) = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	code, _ := New()
	for _, s := range []string{code, strings.ToLower(code), "", "0000-0000", code + "-0", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZWJH"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrTypo) && !errors.Is(err, ErrNotVoucher) {
				t.Fatalf("Parse(%q): unexpected error kind %v", s, err)
			}
			return
		}
		if len(p) != PayloadSize {
			t.Fatalf("payload of %d bytes", len(p))
		}
		again, err := Parse(Format([PayloadSize]byte(p)))
		if err != nil || !bytes.Equal(again, p) {
			t.Fatalf("Format/Parse round trip of %q: %v", s, err)
		}
	})
}
