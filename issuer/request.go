package issuer

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// maxJSONBody bounds JSON request bodies.
const maxJSONBody = 4 << 10

// secretSize is the size of an order secret.
const secretSize = 32

// readBody reads at most limit bytes of the body; more is a 413.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	r := http.MaxBytesReader(c.Response(), c.Request().Body, limit)
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err // *http.MaxBytesError → 413 in problem.From
	}
	return b, nil
}

// readJSON decodes one JSON object into v, strictly: application/json (or
// no content type), unknown fields and trailing data refused.
func readJSON(c echo.Context, v any) error {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return ErrMediaType.With("send application/json")
		}
	}
	b, err := readBody(c, maxJSONBody)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ErrMalformedJSON.With("the body is not the expected JSON object: " + jsonReason(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrMalformedJSON.With("the body holds more than one JSON value")
	}
	return nil
}

// jsonReason is a short, input-free reason for a JSON decoding error.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error"
	case errors.As(err, &te):
		return "field " + te.Field + " has the wrong type"
	case errors.Is(err, io.EOF):
		return "empty body"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	default:
		return "cannot decode"
	}
}

// bearerSecretHash reads `Authorization: Bearer <secret>` (base64url of the
// 32-byte secret, no padding) and returns SHA-256 of the secret; a voucher
// code in its place gives its hash (voucherHash).
func bearerSecretHash(r *http.Request) ([]byte, error) {
	v := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, ErrUnknownSecret
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimRight(strings.TrimSpace(tok), "="))
	if err != nil || len(secret) != secretSize {
		return voucherHash(tok)
	}
	h := sha256.Sum256(secret)
	clear(secret)
	return h[:], nil
}
