package wallet

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// Challenge is a redeemer's token challenge as the wallet remembers it: the
// first one seen (or the one the user accepted last). A redeemer that hands
// each client, or each visit, its own challenge could recognise a client's
// tokens by their challenge digest; remembering the challenge and refusing
// a silent change defeats that (see client.ErrChallengeChanged).
type Challenge struct {
	// Redeemer is the redeemer's origin, scheme://host[:port], lower case.
	Redeemer string `json:"redeemer"`
	// Challenge is the marshalled RFC 9577 TokenChallenge.
	Challenge []byte    `json:"challenge"`
	Trusted   time.Time `json:"trusted"`
	// Offered, when set, is another challenge the redeemer answered with
	// instead (marshalled): nothing is spent at the redeemer until the user
	// accepts one of the two again.
	Offered []byte `json:"offered,omitempty"`
}

func (c Challenge) check() error {
	if c.Redeemer == "" || len(c.Challenge) == 0 {
		return fmt.Errorf("%w: a remembered challenge lacks its redeemer or challenge", ErrCorrupt)
	}
	return nil
}

// PendingScheme names how a pending batch's blinding state is derived from
// its seed (see the client package: client.PendingSchemeSeedV1).
const PendingSchemeSeedV1 = "shake256-seed-v1"

// PendingBatch is an issuance request that was (or is about to be) sent and
// whose tokens are not stored yet: everything needed to send the identical
// request again (same Idempotency-Key) and finalize the answer, so a batch
// the issuer committed is never lost to a crash, Ctrl-C or a lost answer.
// It is secret: Seed yields the tokens' nonces, so it links this order to
// its tokens until the batch is finalized and removed.
type PendingBatch struct {
	IssuerURL  string `json:"issuer_url"`
	RequestURL string `json:"request_url"`
	// Secret is the bearer credential of the order (as Order.Secret).
	Secret         string `json:"secret"`
	IdempotencyKey string `json:"idempotency_key"`
	// TokenKey is the issuer key's SPKI the batch is blinded to.
	TokenKey    []byte    `json:"token_key"`
	RedeemUntil time.Time `json:"redeem_until,omitzero"`
	// Challenge is the marshalled TokenChallenge the tokens are made for.
	Challenge []byte `json:"challenge"`
	// Scheme says how the blinding state derives from Seed
	// (PendingSchemeSeedV1); a program that does not know the scheme keeps
	// the batch as it is.
	Scheme string `json:"scheme"`
	Seed   []byte `json:"seed"`
	Count  int    `json:"count"`
	// RequestSHA256 is the SHA-256 of the request body, to check a rebuilt
	// request is the identical one.
	RequestSHA256 []byte    `json:"request_sha256"`
	Created       time.Time `json:"created"`
}

func (p PendingBatch) check() error {
	if p.IssuerURL == "" || p.RequestURL == "" || p.Secret == "" || p.IdempotencyKey == "" ||
		len(p.TokenKey) == 0 || len(p.Challenge) == 0 || p.Scheme == "" || len(p.Seed) == 0 || p.Count <= 0 {
		return fmt.Errorf("%w: a pending batch is incomplete", ErrCorrupt)
	}
	return nil
}

// RememberedChallenge returns the challenge remembered for the redeemer
// origin.
func (st *State) RememberedChallenge(redeemer string) (Challenge, bool) {
	i := slices.IndexFunc(st.Challenges, func(c Challenge) bool { return c.Redeemer == redeemer })
	if i < 0 {
		return Challenge{}, false
	}
	c := st.Challenges[i]
	c.Challenge = slices.Clone(c.Challenge)
	c.Offered = slices.Clone(c.Offered)
	return c, true
}

// Challenge returns the challenge remembered for the redeemer origin.
func (w *Wallet) Challenge(redeemer string) (Challenge, bool, error) {
	var (
		c  Challenge
		ok bool
	)
	err := w.View(func(st *State) error {
		c, ok = st.RememberedChallenge(redeemer)
		return nil
	})
	return c, ok, err
}

// RememberChallenge stores c for its redeemer when the wallet remembers
// none, or when replace is set. It returns the challenge remembered
// afterwards: when another one was there and replace is false, that one
// (the caller compares).
func (w *Wallet) RememberChallenge(c Challenge, replace bool) (Challenge, error) {
	if err := c.check(); err != nil {
		return Challenge{}, err
	}
	var out Challenge
	err := w.Update(func(st *State) error {
		out = st.rememberChallenge(c, replace)
		return nil
	})
	return out, err
}

func (st *State) rememberChallenge(c Challenge, replace bool) Challenge {
	c.Challenge = slices.Clone(c.Challenge)
	i := slices.IndexFunc(st.Challenges, func(e Challenge) bool { return e.Redeemer == c.Redeemer })
	switch {
	case i < 0:
		st.Challenges = append(st.Challenges, c)
	case replace && !bytes.Equal(st.Challenges[i].Challenge, c.Challenge):
		st.Challenges[i] = c
	default:
		return st.Challenges[i]
	}
	return c
}

// MarkChallengeOffered records that the redeemer now answers with offered
// instead of its remembered challenge (see Challenge.Offered). Nothing
// happens when the wallet remembers no challenge for it.
func (w *Wallet) MarkChallengeOffered(redeemer string, offered []byte) error {
	return w.Update(func(st *State) error {
		for i := range st.Challenges {
			if st.Challenges[i].Redeemer == redeemer {
				st.Challenges[i].Offered = slices.Clone(offered)
			}
		}
		return nil
	})
}

// Challenges lists the remembered challenges.
func (w *Wallet) Challenges() ([]Challenge, error) {
	var out []Challenge
	err := w.View(func(st *State) error {
		out = slices.Clone(st.Challenges)
		return nil
	})
	return out, err
}

// AddPending records a batch before its request is sent. A batch with the
// same issuer and Idempotency-Key is replaced.
func (w *Wallet) AddPending(p PendingBatch) error {
	if err := p.check(); err != nil {
		return err
	}
	return w.Update(func(st *State) error {
		st.addPending(p)
		return nil
	})
}

func (st *State) addPending(p PendingBatch) bool {
	i := slices.IndexFunc(st.Pending, func(e PendingBatch) bool { return samePending(e, p) })
	if i >= 0 {
		st.Pending[i] = p
		return false
	}
	st.Pending = append(st.Pending, p)
	return true
}

func samePending(a, b PendingBatch) bool {
	return a.IssuerURL == b.IssuerURL && a.IdempotencyKey == b.IdempotencyKey
}

// PendingBatches lists the batches not finalized yet, those of issuerURL
// only when it is not empty.
func (w *Wallet) PendingBatches(issuerURL string) ([]PendingBatch, error) {
	var out []PendingBatch
	err := w.View(func(st *State) error {
		for _, p := range st.Pending {
			if issuerURL == "" || p.IssuerURL == issuerURL {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

// FinishPending stores the tokens of a batch and removes the batch, in one
// save: the tokens never exist twice, and the batch is not lost. When the
// batch is no longer pending (another process finished it, and may have
// spent some of its tokens since), nothing is added. It returns how many
// tokens were new.
func (w *Wallet) FinishPending(p PendingBatch, tokens []Token) (int, error) {
	var added int
	err := w.Update(func(st *State) error {
		before := len(st.Pending)
		st.Pending = slices.DeleteFunc(st.Pending, func(e PendingBatch) bool { return samePending(e, p) })
		if len(st.Pending) == before {
			return nil
		}
		var err error
		added, err = st.AddTokens(tokens)
		return err
	})
	return added, err
}
