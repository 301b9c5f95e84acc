package protocol

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

func TestVarint(t *testing.T) {
	tests := []struct {
		v    uint64
		wire []byte
	}{ // RFC 9000 §A.1 examples and boundaries
		{0, []byte{0x00}},
		{37, []byte{0x25}},
		{63, []byte{0x3f}},
		{64, []byte{0x40, 0x40}},
		{15293, []byte{0x7b, 0xbd}},
		{16383, []byte{0x7f, 0xff}},
		{16384, []byte{0x80, 0x00, 0x40, 0x00}},
		{494878333, []byte{0x9d, 0x7f, 0x3e, 0x7d}},
		{1<<30 - 1, []byte{0xbf, 0xff, 0xff, 0xff}},
		{1 << 30, []byte{0xc0, 0, 0, 0, 0x40, 0, 0, 0}},
		{151288809941952652, []byte{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c}},
		{maxVarint, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tc := range tests {
		if got := appendVarint(nil, tc.v); !bytes.Equal(got, tc.wire) {
			t.Errorf("appendVarint(%d) = %x, want %x", tc.v, got, tc.wire)
		}
		s := cryptobyte.String(tc.wire)
		got, err := readVarint(&s)
		if err != nil || got != tc.v || !s.Empty() {
			t.Errorf("readVarint(%x) = %d, %v (left %d)", tc.wire, got, err, len(s))
		}
	}
}

func TestVarintRejects(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
	}{
		{"empty", nil},
		{"truncated 2", []byte{0x40}},
		{"truncated 4", []byte{0x80, 0x00, 0x40}},
		{"truncated 8", []byte{0xc0, 0, 0, 0, 0x40, 0, 0}},
		{"non-minimal 2", []byte{0x40, 0x25}},                            // RFC 9000 §A.1: 37 in two bytes
		{"non-minimal 4", []byte{0x80, 0x00, 0x3f, 0xff}},                // 16383
		{"non-minimal 8", []byte{0xc0, 0, 0, 0, 0x3f, 0xff, 0xff, 0xff}}, // 2^30-1
		{"zero in 2", []byte{0x40, 0x00}},
	}
	for _, tc := range tests {
		s := cryptobyte.String(tc.wire)
		if v, err := readVarint(&s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: readVarint(%x) = %d, %v; want ErrMalformed", tc.name, tc.wire, v, err)
		}
	}
}
