// Package varint is the QUIC variable-length integer (RFC 9000 §16) used by
// Binary HTTP and chunked Oblivious HTTP. Readers accept every encoding of a
// value (RFC 9292 and draft-ietf-ohai-chunked-ohttp do not require the
// shortest); writers always use the shortest.
package varint

import (
	"errors"
	"io"
)

// Max is the largest value a QUIC varint holds.
const Max = 1<<62 - 1

// ErrTruncated: the input ended inside a varint.
var ErrTruncated = errors.New("varint: truncated")

// Append appends v (at most Max) in its shortest encoding.
func Append(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, 0x40|byte(v>>8), byte(v))
	case v < 1<<30:
		return append(b, 0x80|byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, 0xc0|byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// Len is the size of v's shortest encoding.
func Len(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<30:
		return 4
	default:
		return 8
	}
}

// Read reads one varint from r. At the very start of r, an empty input gives
// io.EOF; inside a varint it gives ErrTruncated.
func Read(r io.ByteReader) (uint64, error) {
	first, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	n := 1 << (first >> 6)
	v := uint64(first & 0x3f)
	for i := 1; i < n; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if err == io.EOF {
				return 0, ErrTruncated
			}
			return 0, err
		}
		v = v<<8 | uint64(c)
	}
	return v, nil
}
