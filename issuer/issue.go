package issuer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/protocol"
)

// tokenRequestSize is the size of one type-2 TokenRequest.
const tokenRequestSize = 2 + 1 + protocol.Nk

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// reloadEvery bounds how often an unknown truncated key id makes the
// issuer re-read the keys (another replica may have rotated).
const reloadEvery = 5 * time.Second

// ReplayedHeader is set on a response replayed for an Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// tokenRequest serves POST <issuer-request-uri>: one TokenRequest or a
// generic batch, paid from the bearer's order.
func (s *Server) tokenRequest(c echo.Context) error {
	r := c.Request()
	hash, err := bearerSecretHash(r)
	if err != nil {
		return err
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != protocol.MediaTypeTokenRequest && mt != protocol.MediaTypeBatchRequest) {
		return ErrMediaType.Withf("send %s or %s", protocol.MediaTypeTokenRequest, protocol.MediaTypeBatchRequest)
	}
	idem, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	batch := mt == protocol.MediaTypeBatchRequest
	limit := int64(tokenRequestSize)
	if batch {
		limit = int64(s.cfg.MaxBatch)*tokenRequestSize + 8 // + the QUIC varint length
	}
	body, err := readBody(c, limit)
	if err != nil {
		return err
	}
	reqs, err := s.parseTokenRequests(body, batch)
	if err != nil {
		return err
	}
	if idem.Key != "" {
		d := sha256.New()
		d.Write([]byte(mt))
		d.Write([]byte{0})
		d.Write(body)
		idem.Digest = d.Sum(nil)
	}

	ctx := r.Context()
	signers, keyErr := s.signers(ctx, reqs)
	respType := protocol.MediaTypeTokenResponse
	if batch {
		respType = protocol.MediaTypeBatchResponse
	}
	iss, replayed, err := s.st.Issue(ctx, hash, idem, s.now().UTC(), func(o store.Order) (store.Issuance, error) {
		if err := usable(o, int64(len(reqs))); err != nil {
			return store.Issuance{}, err
		}
		if keyErr != nil {
			return store.Issuance{}, keyErr
		}
		sigs, err := s.signAll(ctx, signers, reqs)
		if err != nil {
			return store.Issuance{}, err
		}
		return store.Issuance{Credits: int64(len(reqs)), ContentType: respType, Body: encodeResponses(sigs, batch)}, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrUnknownSecret
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return ErrIdempotencyUsed
	case err != nil:
		if _, ok := problem.As(err); ok {
			return err
		}
		return storeError(err)
	}
	if replayed {
		c.Response().Header().Set(ReplayedHeader, "true")
	}
	return c.Blob(http.StatusOK, iss.ContentType, iss.Body)
}

// idempotencyKey reads the optional Idempotency-Key header.
func idempotencyKey(r *http.Request) (store.Idempotency, error) {
	vs, ok := r.Header["Idempotency-Key"]
	if !ok {
		return store.Idempotency{}, nil
	}
	if len(vs) != 1 || len(vs[0]) == 0 || len(vs[0]) > maxIdempotencyKey {
		return store.Idempotency{}, ErrIdempotencyKey
	}
	for i := 0; i < len(vs[0]); i++ {
		if b := vs[0][i]; b < 0x21 || b > 0x7e {
			return store.Idempotency{}, ErrIdempotencyKey
		}
	}
	return store.Idempotency{Key: vs[0]}, nil
}

// parseTokenRequests decodes the body into type-2 token requests.
func (s *Server) parseTokenRequests(body []byte, batch bool) ([]protocol.TokenRequest, error) {
	if !batch {
		req, err := protocol.ParseTokenRequest(body)
		if err != nil {
			return nil, parseError(err, "the token request cannot be parsed")
		}
		return []protocol.TokenRequest{req}, nil
	}
	if len(body) == 1 && body[0] == 0 { // varint(0): no element
		return nil, ErrEmptyBatch
	}
	b, err := protocol.ParseGenericBatchRequest(body, s.cfg.MaxBatch)
	if errors.Is(err, protocol.ErrBatchTooLarge) {
		return nil, ErrBatchTooLarge.Withf("a batch holds at most %d token requests", s.cfg.MaxBatch).Wrapping(err)
	}
	if err != nil {
		return nil, parseError(err, "the batch cannot be parsed")
	}
	if len(b.Requests) == 0 {
		return nil, ErrEmptyBatch
	}
	reqs := make([]protocol.TokenRequest, len(b.Requests))
	for i, g := range b.Requests {
		if g.TokenType != protocol.TokenTypeBlindRSA {
			return nil, ErrTokenType.Withf("request %d has token type 0x%04x; this issuer issues type 0x0002 only", i, g.TokenType)
		}
		req, err := protocol.ParseTokenRequest(g.Raw)
		if err != nil {
			return nil, parseError(err, fmt.Sprintf("request %d cannot be parsed", i))
		}
		reqs[i] = req
	}
	return reqs, nil
}

// parseError maps a protocol parse error: an unknown token type is 422,
// anything else 400.
func parseError(err error, detail string) error {
	if errors.Is(err, protocol.ErrUnknownTokenType) {
		return ErrTokenType.Wrapping(err)
	}
	return ErrMalformedTokReq.With(detail).Wrapping(err)
}

// usable checks that order o may take n tokens now.
func usable(o store.Order, n int64) error {
	switch o.Status {
	case store.OrderPaid:
	case store.OrderPending:
		return ErrOrderNotPaid
	case store.OrderFrozen:
		return ErrOrderFrozen
	case store.OrderRefunded:
		return ErrOrderRefunded
	case store.OrderExpired:
		return ErrOrderExpired
	default:
		return ErrOrderNotPaid.With("the order cannot be used")
	}
	if o.Remaining() < n {
		return ErrNoCredit.Withf("%d tokens asked, %d credits left", n, max(o.Remaining(), 0)).
			WithExtension("credits_remaining", max(o.Remaining(), 0))
	}
	return nil
}

// signer is the key for one truncated key id.
type signer struct {
	s  *protocol.Signer
	id [protocol.KeyIDSize]byte
}

// signers resolves the key of every request's truncated key id. It first
// picks up any key made since the keys were last read (keys.Manager.Sync:
// one small query), so a forced rotation from another process takes effect
// for the next batch, not a minute later; it re-reads the keys (at most
// every reloadEvery) when an id is still unknown.
func (s *Server) signers(ctx context.Context, reqs []protocol.TokenRequest) (map[uint8]signer, error) {
	if err := s.km.Sync(ctx); err != nil {
		return nil, storeError(err)
	}
	out := make(map[uint8]signer, 1)
	for _, r := range reqs {
		tid := r.TruncatedTokenKeyID
		if _, ok := out[tid]; ok {
			continue
		}
		sk, id, err := s.km.Signer(tid)
		if errors.Is(err, keys.ErrUnknownKey) && s.reload(ctx) {
			sk, id, err = s.km.Signer(tid)
		}
		if err != nil {
			return nil, err
		}
		out[tid] = signer{s: sk, id: id}
	}
	return out, nil
}

// reload re-reads the keys unless that happened within reloadEvery; it
// reports whether it did.
func (s *Server) reload(ctx context.Context) bool {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if t := time.Now(); t.Sub(s.lastReload) >= reloadEvery {
		s.lastReload = t
		return s.km.Reload(ctx) == nil
	}
	return false
}

// encodeResponses encodes signatures as one TokenResponse or a generic batch.
func encodeResponses(sigs []protocol.TokenResponse, batch bool) []byte {
	if !batch {
		return sigs[0].Marshal()
	}
	b := protocol.GenericBatchResponse{Responses: make([]protocol.OptionalTokenResponse, len(sigs))}
	for i, sig := range sigs {
		b.Responses[i] = protocol.OptionalTokenResponse{TokenType: protocol.TokenTypeBlindRSA, Raw: sig.Marshal()}
	}
	return b.Marshal()
}
