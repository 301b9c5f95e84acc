package protocol

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/blindpass/blindpass/internal/varint"
)

// maxVarint is the largest value a QUIC variable-length integer holds.
const maxVarint = varint.Max

// appendVarint appends v as a minimal QUIC variable-length integer
// (RFC 9000 §16). v must be at most maxVarint.
func appendVarint(b []byte, v uint64) []byte { return varint.Append(b, v) }

// readVarint reads one QUIC variable-length integer from s and rejects
// encodings that are not minimal.
func readVarint(s *cryptobyte.String) (uint64, error) {
	var first uint8
	if !s.ReadUint8(&first) {
		return 0, fmt.Errorf("%w: varint: no bytes", ErrMalformed)
	}
	n := 1 << (first >> 6) // 1, 2, 4 or 8 bytes in all
	v := uint64(first & 0x3f)
	var rest []byte
	if !s.ReadBytes(&rest, n-1) {
		return 0, fmt.Errorf("%w: varint: needs %d bytes", ErrMalformed, n)
	}
	for _, c := range rest {
		v = v<<8 | uint64(c)
	}
	if n > 1 && v < 1<<(8*(n/2)-2) {
		return 0, fmt.Errorf("%w: varint: %d encoded in %d bytes is not minimal", ErrMalformed, v, n)
	}
	return v, nil
}
