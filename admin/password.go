package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2idParams are the cost parameters of a password hash.
type Argon2idParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2id is RFC 9106's second recommended option: 64 MiB, 3
// passes, 4 lanes (about 0.1 s on one modern core). Logins are rare and
// rate limited, so the cost is affordable where an attacker's is not.
var DefaultArgon2id = Argon2idParams{Memory: 64 * 1024, Time: 3, Threads: 4}

// Sizes of the salt and the tag of a password hash.
const (
	saltSize = 16
	tagSize  = 32
)

// Password rules.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

// ErrWeakPassword: the password is shorter than MinPasswordLen characters
// or longer than MaxPasswordLen bytes.
var ErrWeakPassword = fmt.Errorf("admin: a password must have %d to %d characters", MinPasswordLen, MaxPasswordLen)

// errBadHash: a stored hash that is not a PHC argon2id string we accept.
var errBadHash = errors.New("admin: malformed password hash")

// CheckPassword enforces the password rules.
func CheckPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return ErrWeakPassword
	}
	return nil
}

// HashPassword returns the PHC string of an argon2id hash of pw with a fresh
// random salt: $argon2id$v=19$m=65536,t=3,p=4$<salt>$<tag> (unpadded
// standard base64).
func HashPassword(pw string, p Argon2idParams) string {
	salt := make([]byte, saltSize)
	_, _ = rand.Read(salt) // never fails (crypto/rand)
	tag := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, tagSize)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(tag))
}

// Bounds on the parameters a stored hash may ask for, so that a corrupted
// row cannot make a login take minutes or gigabytes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 16
	maxThreads = 16
)

// parseHash reads a PHC argon2id string.
func parseHash(phc string) (p Argon2idParams, salt, tag []byte, err error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errBadHash
	}
	var m, t, th uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, th) != parts[3] {
		return p, nil, nil, errBadHash
	}
	if m < 8 || m > maxMemory || t < 1 || t > maxTime || th < 1 || th > maxThreads {
		return p, nil, nil, errBadHash
	}
	enc := base64.RawStdEncoding.Strict()
	if salt, err = enc.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	if tag, err = enc.DecodeString(parts[5]); err != nil || len(tag) < 16 || len(tag) > 64 {
		return p, nil, nil, errBadHash
	}
	return Argon2idParams{Memory: m, Time: t, Threads: uint8(th)}, salt, tag, nil
}

// VerifyPassword reports whether pw matches the PHC string phc, comparing
// in constant time. An empty or malformed phc matches nothing.
func VerifyPassword(pw, phc string) bool {
	p, salt, tag, err := parseHash(phc)
	if err != nil || len(pw) > MaxPasswordLen {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(tag)))
	return subtle.ConstantTimeCompare(got, tag) == 1
}

// dummyHash is verified against when the user does not exist, so that a
// login takes as long for an unknown name as for a wrong password. It is
// made on first use, not when the binary starts.
var dummyHash = sync.OnceValue(func() string { return HashPassword("blindpass: no such operator", DefaultArgon2id) })
