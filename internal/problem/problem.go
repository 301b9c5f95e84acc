// Package problem holds the error kinds Blindpass code returns and the one
// place where they become HTTP responses: RFC 9457 application/problem+json.
//
// Domain packages return errors made with New or Wrap (or wrap sentinel
// errors made with Define); the echo HTTPErrorHandler in this package turns
// them into responses. Nothing else writes an error status.
package problem

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind is what went wrong, from the client's point of view. Each kind has
// exactly one HTTP status (see Status).
type Kind string

const (
	Malformed            Kind = "malformed"              // 400: the request cannot be parsed
	Unauthorized         Kind = "unauthorized"           // 401: missing or wrong credential or token
	PaymentRequired      Kind = "payment-required"       // 402: not enough credit or tokens
	Forbidden            Kind = "forbidden"              // 403: credential valid, action not allowed now
	NotFound             Kind = "not-found"              // 404
	MethodNotAllowed     Kind = "method-not-allowed"     // 405
	Conflict             Kind = "conflict"               // 409: e.g. token already spent
	Gone                 Kind = "gone"                   // 410
	PayloadTooLarge      Kind = "payload-too-large"      // 413
	UnsupportedMediaType Kind = "unsupported-media-type" // 415
	Unprocessable        Kind = "unprocessable"          // 422: well-formed but semantically wrong
	TooManyRequests      Kind = "too-many-requests"      // 429
	BadGateway           Kind = "bad-gateway"            // 502: an upstream failed
	Unavailable          Kind = "unavailable"            // 503: a dependency (database) is down
	GatewayTimeout       Kind = "gateway-timeout"        // 504
	Internal             Kind = "internal"               // 500: never shows detail
)

var statuses = map[Kind]int{
	Malformed:            http.StatusBadRequest,
	Unauthorized:         http.StatusUnauthorized,
	PaymentRequired:      http.StatusPaymentRequired,
	Forbidden:            http.StatusForbidden,
	NotFound:             http.StatusNotFound,
	MethodNotAllowed:     http.StatusMethodNotAllowed,
	Conflict:             http.StatusConflict,
	Gone:                 http.StatusGone,
	PayloadTooLarge:      http.StatusRequestEntityTooLarge,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	Unprocessable:        http.StatusUnprocessableEntity,
	TooManyRequests:      http.StatusTooManyRequests,
	BadGateway:           http.StatusBadGateway,
	Unavailable:          http.StatusServiceUnavailable,
	GatewayTimeout:       http.StatusGatewayTimeout,
	Internal:             http.StatusInternalServerError,
}

// Status is the HTTP status of a kind; unknown kinds are 500.
func (k Kind) Status() int {
	if s, ok := statuses[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// KindForStatus is the kind for an HTTP status (used for errors that come
// from the framework itself, such as 404 for an unknown route).
func KindForStatus(status int) Kind {
	for k, s := range statuses {
		if s == status {
			return k
		}
	}
	if status >= 500 {
		return Internal
	}
	return Malformed
}

// Error is an error with a kind, a stable machine-readable code, a message
// for the client, optional extension members and optional response headers.
type Error struct {
	Kind Kind
	// Code is a stable slug naming the exact problem (for example
	// "token-already-spent"); it becomes the problem "type" URI.
	Code string
	// Detail is shown to the client. It must not contain secrets, tokens
	// or anything about other users.
	Detail string
	// Extensions are extra members of the problem object.
	Extensions map[string]any
	// Header is set on the response (for example WWW-Authenticate).
	Header http.Header
	// Err is the underlying cause; it is logged, never shown.
	Err error
}

func (e *Error) Error() string {
	msg := string(e.Kind) + ": " + e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, sentinel) true when both have the same kind and code,
// so sentinels made with Define can be compared after With/Wrap.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// New makes an error of a kind with a code and a client-facing detail.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Newf is New with a formatted detail.
func Newf(kind Kind, code, format string, args ...any) *Error {
	return New(kind, code, fmt.Sprintf(format, args...))
}

// Wrap makes an error of a kind around a cause (kept for logs only).
func Wrap(kind Kind, code, detail string, cause error) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail, Err: cause}
}

// Define makes a sentinel error; use With or Wrapping to add context.
func Define(kind Kind, code, detail string) *Error { return New(kind, code, detail) }

// With returns a copy with another detail.
func (e *Error) With(detail string) *Error {
	c := e.clone()
	c.Detail = detail
	return c
}

// Withf returns a copy with a formatted detail.
func (e *Error) Withf(format string, args ...any) *Error { return e.With(fmt.Sprintf(format, args...)) }

// Wrapping returns a copy that carries a cause.
func (e *Error) Wrapping(cause error) *Error {
	c := e.clone()
	c.Err = cause
	return c
}

// WithExtension returns a copy with one more problem member.
func (e *Error) WithExtension(name string, value any) *Error {
	c := e.clone()
	c.Extensions = make(map[string]any, len(e.Extensions)+1)
	for k, v := range e.Extensions {
		c.Extensions[k] = v
	}
	c.Extensions[name] = value
	return c
}

// WithHeader returns a copy that sets a response header.
func (e *Error) WithHeader(name, value string) *Error {
	c := e.clone()
	c.Header = e.Header.Clone()
	if c.Header == nil {
		c.Header = http.Header{}
	}
	c.Header.Add(name, value)
	return c
}

func (e *Error) clone() *Error {
	c := *e
	return &c
}

// As finds the *Error in err's chain.
func As(err error) (*Error, bool) {
	var p *Error
	ok := errors.As(err, &p)
	return p, ok
}

// KindOf is the kind of err, Internal when it has none.
func KindOf(err error) Kind {
	if p, ok := As(err); ok {
		return p.Kind
	}
	return Internal
}
