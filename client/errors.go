package client

import (
	"errors"
	"fmt"
)

// Errors the SDK returns, for callers (the CLI) to tell the user what to do
// next. Compare with errors.Is; the message of the returned error adds the
// details (URL, status, the server's problem detail).
var (
	// ErrIssuerUnreachable: no answer from the issuer (network error or
	// repeated 5xx). The error is an *UnreachableError naming the URL.
	ErrIssuerUnreachable = errors.New("issuer unreachable")
	// ErrRedeemerUnreachable: no answer from the redeemer.
	ErrRedeemerUnreachable = errors.New("redeemer unreachable")
	// ErrUnknownSecret: the issuer knows no order for this secret or voucher
	// code (typo, or another issuer).
	ErrUnknownSecret = errors.New("the issuer does not know this order secret or voucher code")
	// ErrNotPaid: the order is not paid yet (or is frozen, refunded or
	// expired; the message says which).
	ErrNotPaid = errors.New("the order is not paid")
	// ErrNoCredit: the order has no credit left for more tokens.
	ErrNoCredit = errors.New("the order has no credit left")
	// ErrOrderClosed: WaitPaid saw the order end without being paid
	// (expired, refunded, frozen).
	ErrOrderClosed = errors.New("the order can no longer be paid")
	// ErrNoTokens: the wallet holds too few usable tokens for the request.
	ErrNoTokens = errors.New("not enough tokens in the wallet: buy some with `blindpass buy --issuer URL --plan ID`, redeem a voucher with `blindpass voucher CODE --issuer URL`, or turn remaining credit into tokens with `blindpass refill`")
	// ErrSpentElsewhere: the redeemer refused tokens from the wallet as
	// already spent (409 token-already-spent), twice, or once with no other
	// tokens left: a copy of the wallet spent them. They were dropped.
	ErrSpentElsewhere = errors.New("tokens from the wallet were already spent elsewhere")
	// ErrReplayLimit: the redeemer already served this exact request as
	// often as one payment allows (409 replay-limit); its tokens are spent.
	// Sending the request again pays for a new answer.
	ErrReplayLimit = errors.New("this exact request was already answered as often as one payment allows")
	// ErrBadDirectory: the issuer directory is malformed, lists more than 3
	// keys, or has no usable type 0x0002 key.
	ErrBadDirectory = errors.New("unacceptable issuer directory")
	// ErrKeyNotListed: a redeemer's challenge names a token key the issuer
	// does not list (a possible key-tagging attack); refused.
	ErrKeyNotListed = errors.New("the redeemer's token key is not in the issuer's directory")
	// ErrBadChallenge: the redeemer's answer holds no usable PrivateToken
	// challenge (type 0x0002, empty redemption context).
	ErrBadChallenge = errors.New("unusable redeemer challenge")
	// ErrBadIssuance: the issuer's answer is malformed or a token does not
	// verify. Tokens already stored stay stored.
	ErrBadIssuance = errors.New("invalid answer from the issuer")
	// ErrCostTooHigh: the redeemer asks more tokens for a request than
	// Client.MaxCost allows (a redeemer could otherwise drain a wallet with
	// one request); nothing was spent.
	ErrCostTooHigh = errors.New("the redeemer's price is above this client's limit")
	// ErrNoWallet: the operation needs Client.Wallet.
	ErrNoWallet = errors.New("client: no wallet configured")
)

// ErrTokensReturned joins an *UnreachableError of a spend whose request
// never left this machine (the connection could not be made): its tokens
// are back in the wallet, good for any request.
var ErrTokensReturned = errors.New("the request never left this machine; its tokens are back in the wallet")

// UnreachableError is a failure to get an answer from a server.
type UnreachableError struct {
	URL  string
	Err  error // the last network error or a *ProblemError for a 5xx
	kind error // ErrIssuerUnreachable or ErrRedeemerUnreachable
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%v at %s: %v", e.kind, e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() []error { return []error{e.kind, e.Err} }

// ProblemError is an error answer from a server, with its RFC 9457
// problem details when it sent them.
type ProblemError struct {
	URL    string
	Status int
	Type   string // problem type URI ("" when the body was not problem+json)
	Detail string
	kind   error // the matching sentinel above, or nil
}

func (e *ProblemError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d", e.URL, e.Status)
	if e.kind != nil {
		msg = e.kind.Error() + ": " + msg
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *ProblemError) Unwrap() error { return e.kind }
