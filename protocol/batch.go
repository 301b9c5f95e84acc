package protocol

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Element sizes of the token types a generic batch may carry.
const (
	voprfRequestSize  = 2 + 1 + 49 // token_type, truncated key id, P-384 blinded element
	voprfResponseSize = 49 + 96    // evaluated element, DLEQ proof
)

// requestSize is the length of a whole TokenRequest of type t (0 = unknown).
func requestSize(t uint16) int {
	switch t {
	case TokenTypeVOPRF:
		return voprfRequestSize
	case TokenTypeBlindRSA:
		return tokenRequestSize
	}
	return 0
}

// responseSize is the length of a TokenResponse of type t (0 = unknown).
func responseSize(t uint16) int {
	switch t {
	case TokenTypeVOPRF:
		return voprfResponseSize
	case TokenTypeBlindRSA:
		return Nk
	}
	return 0
}

// GenericTokenRequest is one element of a generic batch: the raw RFC 9578
// TokenRequest of any known type (it starts with its token_type).
type GenericTokenRequest struct {
	TokenType uint16
	Raw       []byte // the whole element, token_type included
}

// GenericBatchRequest is varint(len) || TokenRequest... (QUIC varints, minimal).
type GenericBatchRequest struct {
	Requests []GenericTokenRequest
}

// Marshal encodes b. The elements are written as they are (Raw).
func (b GenericBatchRequest) Marshal() []byte {
	n := 0
	for _, r := range b.Requests {
		n += len(r.Raw)
	}
	out := appendVarint(make([]byte, 0, 8+n), uint64(n))
	for _, r := range b.Requests {
		out = append(out, r.Raw...)
	}
	return out
}

// ParseGenericBatchRequest parses a batch; maxRequests > 0 limits the number
// of elements (ErrBatchTooLarge beyond it). The batch must hold at least one
// request, each of a known type (0x0001 or 0x0002). The limit is checked
// before anything is allocated.
func ParseGenericBatchRequest(b []byte, maxRequests int) (GenericBatchRequest, error) {
	body, err := batchBody(b, "batch request")
	if err != nil {
		return GenericBatchRequest{}, err
	}
	// First pass: walk the elements, count them, allocate nothing.
	count := 0
	for s := body; !s.Empty(); count++ {
		if maxRequests > 0 && count == maxRequests {
			return GenericBatchRequest{}, fmt.Errorf("%w: more than %d requests", ErrBatchTooLarge, maxRequests)
		}
		if _, _, err := nextRequest(&s, count); err != nil {
			return GenericBatchRequest{}, err
		}
	}
	body = cryptobyte.String(append([]byte(nil), body...)) // one copy the elements share
	out := GenericBatchRequest{Requests: make([]GenericTokenRequest, 0, count)}
	for s := body; !s.Empty(); {
		t, raw, _ := nextRequest(&s, len(out.Requests))
		out.Requests = append(out.Requests, GenericTokenRequest{TokenType: t, Raw: raw})
	}
	return out, nil
}

// nextRequest reads one whole TokenRequest element (index i, for errors).
func nextRequest(s *cryptobyte.String, i int) (uint16, []byte, error) {
	var t uint16
	if peek := *s; !peek.ReadUint16(&t) {
		return 0, nil, fmt.Errorf("%w: batch request %d: truncated token_type", ErrMalformed, i)
	}
	size := requestSize(t)
	if size == 0 {
		return 0, nil, fmt.Errorf("%w: batch request %d: type 0x%04x", ErrUnknownTokenType, i, t)
	}
	var raw []byte
	if !s.ReadBytes(&raw, size) {
		return 0, nil, fmt.Errorf("%w: batch request %d: type 0x%04x needs %d bytes, %d left",
			ErrMalformed, i, t, size, len(*s))
	}
	return t, raw[:size:size], nil
}

// batchBody reads varint(len) || body and checks that the length tells the
// truth and the batch is not empty.
func batchBody(b []byte, what string) (cryptobyte.String, error) {
	s := cryptobyte.String(b)
	n, err := readVarint(&s)
	if err != nil {
		return nil, fmt.Errorf("%s length: %w", what, err)
	}
	if n != uint64(len(s)) {
		return nil, fmt.Errorf("%w: %s: length says %d bytes, %d follow", ErrMalformed, what, n, len(s))
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: %s: empty batch", ErrMalformed, what)
	}
	return s, nil
}
