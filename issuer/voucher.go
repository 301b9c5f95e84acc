package issuer

import (
	"errors"
	"strings"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/voucher"
)

// ErrVoucherTypo: the bearer credential looks like a voucher code but is
// mistyped.
var ErrVoucherTypo = problem.Define(problem.Unauthorized, "voucher-code-typo",
	"the voucher code has a typo; check each character and try again").WithHeader("WWW-Authenticate", bearerChallenge)

// voucherHash reads a bearer credential that is not an order secret as a
// voucher code (case and dashes do not matter) and returns its hash, the
// secret_hash of its order.
func voucherHash(tok string) ([]byte, error) {
	h, err := voucher.HashCode(tok)
	switch {
	case err == nil:
		return h, nil
	case errors.Is(err, voucher.ErrTypo):
		reason := strings.TrimPrefix(err.Error(), voucher.ErrTypo.Error()+": ")
		return nil, ErrVoucherTypo.With("the voucher code has a typo (" + reason + "); check each character and try again")
	default:
		return nil, ErrUnknownSecret
	}
}
