package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Response size limits.
const (
	maxJSONBody  = 1 << 20
	maxBatchBody = 8 << 20 // 100 type-2 responses are ~26 KB; generous for larger batches
)

// answer is a whole, bounded HTTP response.
type answer struct {
	url    string
	status int
	header http.Header
	body   []byte
}

// exchange sends one request and reads the whole answer (at most limit
// bytes) within RequestTimeout. A non-nil error is a network-level failure.
func (c *Client) exchange(ctx context.Context, method, url string, header http.Header, body []byte, limit int64) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.requestTimeout())
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return &answer{url: url, status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// problem turns an error answer into a *ProblemError, reading RFC 9457
// details when present. kind is the sentinel the caller maps the status to.
func (a *answer) problem(kind error) *ProblemError {
	p := &ProblemError{URL: a.url, Status: a.status, kind: kind}
	mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var body struct {
			Type   string `json:"type"`
			Detail string `json:"detail"`
			// The gateway's OpenAI routes write the problem in OpenAI's shape.
			Error struct {
				Message     string `json:"message"`
				ProblemType string `json:"problem_type"`
			} `json:"error"`
		}
		if json.Unmarshal(a.body, &body) == nil {
			p.Type, p.Detail = body.Type, body.Detail
			if p.Type == "" {
				p.Type, p.Detail = body.Error.ProblemType, body.Error.Message
			}
		}
	}
	return p
}

// problemCode is the last path segment of the problem type URI, the
// server's stable code ("insufficient-credit").
func (p *ProblemError) problemCode() string {
	return p.Type[strings.LastIndex(p.Type, "/")+1:]
}

// issuerProblem maps an issuer's error status to the SDK's sentinels.
func (a *answer) issuerProblem() *ProblemError {
	var kind error
	switch a.status {
	case http.StatusUnauthorized:
		kind = ErrUnknownSecret
	case http.StatusPaymentRequired:
		kind = ErrNoCredit
	case http.StatusForbidden:
		kind = ErrNotPaid
	}
	return a.problem(kind)
}

// decodeJSON decodes an answer's JSON body into v.
func (a *answer) decodeJSON(v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("%s: invalid JSON answer: %w", a.url, err)
	}
	return nil
}

// isTemporary is true for answers worth retrying: any 5xx.
func (a *answer) isTemporary() bool { return a.status >= 500 }

// asUnreachable wraps a network error or a 5xx answer.
func asUnreachable(kind error, url string, err error) error {
	var u *UnreachableError
	if errors.As(err, &u) {
		return err
	}
	return &UnreachableError{URL: url, Err: err, kind: kind}
}
