package protocol

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// OptionalTokenResponse is one element of a batch response: Raw == nil
// encodes "no token" (0x00); otherwise 0x01 || token_type || TokenResponse.
type OptionalTokenResponse struct {
	TokenType uint16
	Raw       []byte // TokenResponse bytes (without the token_type), nil = none
}

// GenericBatchResponse is varint(len) || OptionalTokenResponse...
type GenericBatchResponse struct {
	Responses []OptionalTokenResponse
}

// Marshal encodes b. The responses are written as they are (Raw).
func (b GenericBatchResponse) Marshal() []byte {
	n := 0
	for _, r := range b.Responses {
		n++
		if r.Raw != nil {
			n += 2 + len(r.Raw)
		}
	}
	out := appendVarint(make([]byte, 0, 8+n), uint64(n))
	for _, r := range b.Responses {
		if r.Raw == nil {
			out = append(out, 0x00)
			continue
		}
		out = append(out, 0x01, byte(r.TokenType>>8), byte(r.TokenType))
		out = append(out, r.Raw...)
	}
	return out
}

// ParseGenericBatchResponse parses a batch response. It must hold at least
// one element; present responses must be of a known type (0x0001 or 0x0002).
func ParseGenericBatchResponse(b []byte) (GenericBatchResponse, error) {
	body, err := batchBody(b, "batch response")
	if err != nil {
		return GenericBatchResponse{}, err
	}
	body = cryptobyte.String(append([]byte(nil), body...)) // one copy the elements share
	var out GenericBatchResponse
	for s := body; !s.Empty(); {
		i := len(out.Responses)
		var present uint8
		s.ReadUint8(&present) // cannot fail: s is not empty
		switch present {
		case 0x00:
			out.Responses = append(out.Responses, OptionalTokenResponse{})
			continue
		case 0x01:
		default:
			return GenericBatchResponse{}, fmt.Errorf("%w: batch response %d: presence byte 0x%02x", ErrMalformed, i, present)
		}
		var t uint16
		if !s.ReadUint16(&t) {
			return GenericBatchResponse{}, fmt.Errorf("%w: batch response %d: truncated token_type", ErrMalformed, i)
		}
		size := responseSize(t)
		if size == 0 {
			return GenericBatchResponse{}, fmt.Errorf("%w: batch response %d: type 0x%04x", ErrUnknownTokenType, i, t)
		}
		var raw []byte
		if !s.ReadBytes(&raw, size) {
			return GenericBatchResponse{}, fmt.Errorf("%w: batch response %d: type 0x%04x needs %d bytes, %d left",
				ErrMalformed, i, t, size, len(s))
		}
		out.Responses = append(out.Responses, OptionalTokenResponse{TokenType: t, Raw: raw[:size:size]})
	}
	return out, nil
}
