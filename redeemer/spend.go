package redeemer

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/protocol"
)

// Spend is the outcome of a successful Spend. Pass it to Undo if the
// request it paid for failed before an answer was sent.
type Spend struct {
	// Replayed is true when the tokens had already been spent by the same
	// request (same non-empty binding) inside the replay window.
	Replayed bool
	rows     []store.SpentToken // what was inserted; nil for a replay
}

// redeemDomain separates the bindings of POST /v1/redeem from the
// gateway's (a SHA-256 digest of the request): no /v1/redeem spend is ever
// a replay of a gateway request, or the other way round.
const redeemDomain = "blindpass redeem binding\x00"

// RedeemBinding is the binding a POST /v1/redeem spend is recorded under.
func RedeemBinding(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(redeemDomain), b...)
}

// TokensFromRequest parses `Authorization: PrivateToken token="…"` (one or
// more token parameters, at most MaxTokensPerRequest). A missing header
// gives ErrTokenRequired, an unparseable one ErrTokenMalformed, both with
// the challenge; ErrNoDirectory before the keys have been loaded. A
// malformed header is counted as an invalid presentation (see stats.go).
func (r *Redeemer) TokensFromRequest(req *http.Request) ([]protocol.Token, error) {
	tokens, err := r.tokensFromRequest(req)
	if err != nil {
		r.countMalformed(r.now(), err)
	}
	return tokens, err
}

func (r *Redeemer) tokensFromRequest(req *http.Request) ([]protocol.Token, error) {
	if !r.Loaded() {
		return nil, ErrNoDirectory
	}
	values := req.Header.Values("Authorization")
	var auth string
	for _, v := range values {
		scheme, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		if strings.EqualFold(scheme, "PrivateToken") {
			if auth != "" {
				return nil, r.unauthorized(ErrTokenMalformed.With("more than one PrivateToken authorization"))
			}
			auth = v
		}
	}
	if auth == "" {
		return nil, r.unauthorized(ErrTokenRequired)
	}
	tokens, err := protocol.ParseAuthorization(auth, r.cfg.MaxTokensPerRequest)
	if err != nil {
		return nil, r.unauthorized(ErrTokenMalformed.Wrapping(err))
	}
	if len(tokens) == 0 {
		return nil, r.unauthorized(ErrTokenRequired)
	}
	return tokens, nil
}

// Spend verifies every token (type 2, a current key, this redeemer's
// challenge, a valid authenticator) and then spends all of them or none.
// binding names the request being paid for; with a non-empty binding, the
// same tokens presented again with the same binding inside the replay
// window succeed with Replayed set instead of failing as already spent.
// Every outcome is counted per hour and key (see stats.go).
func (r *Redeemer) Spend(ctx context.Context, tokens []protocol.Token, binding []byte) (Spend, error) {
	s, err := r.spend(ctx, tokens, binding)
	r.countSpend(r.now(), tokens, s, err)
	return s, err
}

func (r *Redeemer) spend(ctx context.Context, tokens []protocol.Token, binding []byte) (Spend, error) {
	ks := r.keys.Load()
	if ks == nil {
		return Spend{}, ErrNoDirectory
	}
	if len(tokens) == 0 {
		return Spend{}, r.unauthorized(ErrTokenRequired)
	}
	if len(tokens) > r.cfg.MaxTokensPerRequest {
		return Spend{}, ErrTooManyTokens.Withf("at most %d tokens per request", r.cfg.MaxTokensPerRequest)
	}
	now := r.now()
	if err := r.verify(ks, tokens, now); err != nil {
		return Spend{}, err
	}
	window := r.windowIndex(now)
	var stored []byte
	var storedWindow int64
	if len(binding) > 0 {
		stored, storedWindow = bindingDigest(window, binding), window
	}
	rows := make([]store.SpentToken, len(tokens))
	hour := now.UTC().Truncate(time.Hour)
	for i, t := range tokens {
		rows[i] = store.SpentToken{
			KeyID:     append([]byte(nil), t.TokenKeyID[:]...),
			Nonce:     append([]byte(nil), t.Nonce[:]...),
			Binding:   stored,
			Window:    storedWindow,
			SpentHour: hour,
		}
	}
	accepted := [][]byte{stored, bindingDigest(window-1, binding)}
	// Twice at most: a replay that finds its spend undone meanwhile spends
	// afresh.
	for attempt := 0; ; attempt++ {
		already, err := r.st.Spend(ctx, rows)
		if errors.Is(err, store.ErrKeyRetired) {
			// Another replica retired the key (dropped its spent rows)
			// and this one has not refreshed yet: the store refuses to
			// recreate its rows; so does this redeemer (nothing was spent).
			return Spend{}, r.unauthorized(ErrUnknownKey.Wrapping(err))
		}
		if err != nil && attempt > 0 {
			return Spend{}, storeError("spend", seenSpent(err))
		}
		if err != nil {
			return Spend{}, storeError("spend", err)
		}
		if len(already) == 0 {
			return Spend{rows: rows}, nil
		}
		if len(binding) == 0 || !isReplay(rows, already, accepted) {
			return Spend{}, ErrAlreadySpent
		}
		ok, err := r.st.Replay(ctx, rows, accepted, r.cfg.MaxReplays)
		if err != nil {
			return Spend{}, storeError("replay", seenSpent(err))
		}
		if ok {
			return Spend{Replayed: true}, nil
		}
		if attempt > 0 {
			return Spend{}, ErrReplayLimit.Withf("an exact retry is answered at most %d times; the tokens are spent", r.cfg.MaxReplays).
				WithExtension("tokens_consumed", true).WithHeader(ConsumedHeader, "true")
		}
	}
}

// Undo gives back the tokens of a fresh spend whose request got no answer:
// all of them, and only while they carry this spend's binding and no
// replay of it was served; otherwise ErrUndoRefused and they stay spent.
// A replay is not undone: the first request owns the spend.
func (r *Redeemer) Undo(ctx context.Context, s Spend) error {
	if s.Replayed || len(s.rows) == 0 {
		return nil
	}
	undone, err := r.st.Unspend(ctx, s.rows)
	if err != nil {
		return storeError("unspend", err)
	}
	if !undone {
		return ErrUndoRefused
	}
	r.countUndone(s.rows)
	return nil
}

// ForgetBindings erases the bindings whose window and the next have passed:
// an exact retry of them can no longer be served, so they are kept no
// longer, except while an Undo of them may still come (UndoWithin beyond
// ReplayWindow). Run calls it every ReplayWindow; it returns how many it
// erased.
func (r *Redeemer) ForgetBindings(ctx context.Context) (int64, error) {
	now := r.now()
	if extra := r.cfg.UndoWithin - r.cfg.ReplayWindow; extra > 0 {
		now = now.Add(-extra)
	}
	// Indexes more than one window ahead were not stored under this
	// ReplayWindow (it was raised) or came from a clock far ahead.
	n, err := r.st.ForgetBindings(ctx, r.windowIndex(now)-1, r.windowIndex(r.now())+1)
	if err != nil {
		return 0, storeError("forget bindings", err)
	}
	return n, nil
}

// verify checks every token before anything is spent.
func (r *Redeemer) verify(ks *keySet, tokens []protocol.Token, now time.Time) error {
	type spentID struct{ key, nonce [32]byte }
	seen := make(map[spentID]bool, len(tokens))
	keys := make([]*activeKey, len(tokens))
	for i, t := range tokens {
		if t.TokenType != protocol.TokenTypeBlindRSA {
			return r.unauthorized(ErrTokenInvalid.Withf("token type 0x%04x is not accepted", t.TokenType))
		}
		id := spentID{t.TokenKeyID, t.Nonce}
		if seen[id] {
			return ErrDuplicateToken
		}
		seen[id] = true
		k := ks.byID[t.TokenKeyID]
		if k == nil {
			return r.unauthorized(ErrUnknownKey)
		}
		if k.expired(now) {
			return r.unauthorized(ErrTokenExpired)
		}
		if subtle.ConstantTimeCompare(t.ChallengeDigest[:], r.digest[:]) != 1 {
			return r.unauthorized(ErrTokenInvalid.With("the token was issued for another challenge"))
		}
		keys[i] = k
	}
	for i, t := range tokens {
		if err := keys[i].verifier.Verify(t); err != nil {
			return r.unauthorized(ErrTokenInvalid.Wrapping(err))
		}
	}
	return nil
}

// windowIndex is floor(unix time / ReplayWindow).
func (r *Redeemer) windowIndex(now time.Time) int64 {
	w := r.cfg.ReplayWindow.Nanoseconds()
	n := now.UnixNano()
	i := n / w
	if n%w < 0 {
		i--
	}
	return i
}

// bindingDigest is SHA-256(window_index as 8 bytes big-endian || binding):
// what is stored, so that no fine-grained time is kept and a binding
// matches only within its window and the next.
func bindingDigest(window int64, binding []byte) []byte {
	h := sha256.New()
	var w [8]byte
	binary.BigEndian.PutUint64(w[:], uint64(window))
	h.Write(w[:])
	h.Write(binding)
	return h.Sum(nil)
}

// isReplay reports whether every presented token is already spent with one
// of the accepted binding digests.
func isReplay(rows, already []store.SpentToken, accepted [][]byte) bool {
	if len(already) != len(rows) {
		return false
	}
	stored := make(map[string][]byte, len(already))
	for _, a := range already {
		stored[string(a.KeyID)+string(a.Nonce)] = a.Binding
	}
	for _, row := range rows {
		b, ok := stored[string(row.KeyID)+string(row.Nonce)]
		if !ok || len(b) == 0 {
			return false
		}
		match := 0
		for _, d := range accepted {
			match |= subtle.ConstantTimeCompare(b, d)
		}
		if match != 1 {
			return false
		}
	}
	return true
}

// seenSpent marks a store failure that happened after the tokens were read
// back as spent under this request's binding: whatever the failure, the
// tokens are spent (by an earlier attempt of this exact request) and only
// this request may still be served with them, which is the client rule of
// an unknown outcome. Saying "nothing was spent" (false) would make a
// client put them back and send them with another request.
func seenSpent(err error) error {
	if errors.Is(err, store.ErrUnavailable) && !errors.Is(err, store.ErrOutcomeUnknown) {
		return fmt.Errorf("%w: the tokens were already spent by this request: %w", store.ErrOutcomeUnknown, err)
	}
	return err
}

// storeError maps a store failure: unreachable database -> 503 (fail
// closed) saying whether the tokens may have been spent, a cancelled
// request stays cancelled, anything else is internal.
func storeError(op string, err error) error {
	switch {
	case errors.Is(err, store.ErrOutcomeUnknown):
		return ErrSpendUnknown.Wrapping(fmt.Errorf("%s: %w", op, err)).
			With("the spent-token store failed while recording the tokens: they may or may not be spent; send them again only with this exact request").
			WithExtension("tokens_consumed", "unknown").WithHeader(ConsumedHeader, "unknown")
	case errors.Is(err, store.ErrUnavailable):
		return ErrStoreDown.Wrapping(fmt.Errorf("%s: %w", op, err)).
			With("the spent-token store is unavailable; nothing was spent, try again later").
			WithExtension("tokens_consumed", false).WithHeader(ConsumedHeader, "false")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return problem.Wrap(problem.Unavailable, "cancelled", "request cancelled", fmt.Errorf("%s: %w", op, err))
	default:
		return fmt.Errorf("redeemer: %s: %w", op, err)
	}
}
