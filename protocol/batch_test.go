package protocol

import (
	"bytes"
	"errors"
	"testing"
)

// rawRequest is a well-formed TokenRequest element of type t.
func rawRequest(t uint16, fill byte) GenericTokenRequest {
	raw := bytes.Repeat([]byte{fill}, requestSize(t))
	raw[0], raw[1] = byte(t>>8), byte(t)
	return GenericTokenRequest{TokenType: t, Raw: raw}
}

func TestGenericBatchRequestRoundTrip(t *testing.T) {
	tests := []GenericBatchRequest{
		{Requests: []GenericTokenRequest{rawRequest(2, 1)}},
		{Requests: []GenericTokenRequest{rawRequest(1, 1)}},
		{Requests: []GenericTokenRequest{rawRequest(1, 1), rawRequest(2, 2), rawRequest(1, 3)}},
		{Requests: bytes2requests(64)}, // 64 * 259 bytes: a 4-byte varint
	}
	for i, b := range tests {
		wire := b.Marshal()
		back, err := ParseGenericBatchRequest(wire, len(b.Requests))
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if len(back.Requests) != len(b.Requests) || !bytes.Equal(back.Marshal(), wire) {
			t.Fatalf("%d: round trip differs", i)
		}
		for j, r := range back.Requests {
			if r.TokenType != b.Requests[j].TokenType || !bytes.Equal(r.Raw, b.Requests[j].Raw) {
				t.Fatalf("%d: element %d differs", i, j)
			}
		}
		if _, err := ParseGenericBatchRequest(wire, len(b.Requests)-1); len(b.Requests) > 1 && !errors.Is(err, ErrBatchTooLarge) {
			t.Fatalf("%d: limit %d: err = %v", i, len(b.Requests)-1, err)
		}
	}
}

func bytes2requests(n int) []GenericTokenRequest {
	out := make([]GenericTokenRequest, n)
	for i := range out {
		out[i] = rawRequest(2, byte(i))
	}
	return out
}

func TestParseGenericBatchRequestRejects(t *testing.T) {
	one := GenericBatchRequest{Requests: []GenericTokenRequest{rawRequest(2, 7)}}.Marshal() // 0x41 0x03 ...
	body := one[2:]
	tests := []struct {
		name string
		wire []byte
		max  int
		want error
	}{
		{"empty input", nil, 0, ErrMalformed},
		{"empty batch", []byte{0x00}, 0, ErrMalformed},
		{"length says more", append([]byte{0x41, 0x04}, body...), 0, ErrMalformed},
		{"length says less", append([]byte{0x41, 0x02}, body...), 0, ErrMalformed},
		{"trailing byte", append(bytes.Clone(one), 0), 0, ErrMalformed},
		{"non-minimal varint", append([]byte{0x80, 0x00, 0x01, 0x03}, body...), 0, ErrMalformed},
		{"truncated varint", []byte{0x41}, 0, ErrMalformed},
		{"element cut short", append([]byte{0x41, 0x02}, body[:258]...), 0, ErrMalformed},
		{"lone type byte", []byte{0x01, 0x00}, 0, ErrMalformed},
		{"unknown type", append([]byte{0x03, 0x00, 0x03}, 0), 0, ErrUnknownTokenType},
		{"type 1 too short", append([]byte{0x33, 0x00, 0x01}, make([]byte, 48)...), 0, ErrMalformed},
		{"two over limit 1", GenericBatchRequest{Requests: bytes2requests(2)}.Marshal(), 1, ErrBatchTooLarge},
	}
	for _, tc := range tests {
		if _, err := ParseGenericBatchRequest(tc.wire, tc.max); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestBatchLimitBeforeAllocation: a huge batch over the limit is refused
// without allocating per element.
func TestBatchLimitBeforeAllocation(t *testing.T) {
	wire := GenericBatchRequest{Requests: bytes2requests(1000)}.Marshal()
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := ParseGenericBatchRequest(wire, 10); !errors.Is(err, ErrBatchTooLarge) {
			t.Fatal(err)
		}
	})
	if allocs > 3 { // the error value only
		t.Fatalf("%v allocations before refusing", allocs)
	}
}

func TestGenericBatchResponse(t *testing.T) {
	b := GenericBatchResponse{Responses: []OptionalTokenResponse{
		{TokenType: 2, Raw: bytes.Repeat([]byte{1}, Nk)},
		{},
		{TokenType: 1, Raw: bytes.Repeat([]byte{2}, voprfResponseSize)},
	}}
	wire := b.Marshal()
	if want := 2 + (1 + 2 + Nk) + 1 + (1 + 2 + voprfResponseSize); len(wire) != want {
		t.Fatalf("%d bytes, want %d", len(wire), want)
	}
	back, err := ParseGenericBatchResponse(wire)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Marshal(), wire) || back.Responses[1].Raw != nil || back.Responses[2].TokenType != 1 {
		t.Fatalf("round trip: %+v", back)
	}

	elem := wire[2 : 2+1+2+Nk]
	tests := []struct {
		name string
		wire []byte
		want error
	}{
		{"empty input", nil, ErrMalformed},
		{"empty batch", []byte{0x00}, ErrMalformed},
		{"presence 2", []byte{0x01, 0x02}, ErrMalformed},
		{"present without type", []byte{0x02, 0x01, 0x00}, ErrMalformed},
		{"unknown type", []byte{0x04, 0x01, 0x00, 0x07, 0x00}, ErrUnknownTokenType},
		{"cut short", append([]byte{0x41, 0x02}, elem[:len(elem)-1]...), ErrMalformed},
		{"length lies", append([]byte{0x41, 0x04}, elem...), ErrMalformed},
		{"trailing byte", append(bytes.Clone(wire), 0), ErrMalformed},
		{"non-minimal varint", append([]byte{0x40, 0x01}, 0x00), ErrMalformed},
	}
	for _, tc := range tests {
		if _, err := ParseGenericBatchResponse(tc.wire); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}
