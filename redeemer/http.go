package redeemer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
)

// RedeemPath is the verification API for other origins.
const RedeemPath = "/v1/redeem"

// Limits of the POST /v1/redeem body.
const (
	maxRedeemBody = 4 << 10
	maxBinding    = 1 << 10
)

// redeemRequest is the optional JSON body of POST /v1/redeem.
type redeemRequest struct {
	Binding string `json:"binding"`
}

// redeemResponse is the answer to a successful redemption.
type redeemResponse struct {
	Status string `json:"status"` // "redeemed" or "replayed"
}

// Register adds POST /v1/redeem to e. The token comes in Authorization;
// the optional body {"binding":"…"} lets an exact retry be answered as a
// replay. With Config.StatsToken set it also adds GET /internal/stats
// (stats_http.go). The route is logged by whoever logs e's requests; this handler
// logs nothing about the token or the body.
func (r *Redeemer) Register(e *echo.Echo) {
	e.POST(RedeemPath, r.redeem)
	if r.cfg.StatsToken != "" {
		e.GET(StatsPath, r.statsHandler)
	}
}

func (r *Redeemer) redeem(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	req := c.Request()
	tokens, err := r.TokensFromRequest(req)
	if err != nil {
		return err
	}
	binding, err := readBinding(c.Response(), req)
	if err != nil {
		return err
	}
	s, err := r.Spend(req.Context(), tokens, RedeemBinding(binding))
	if err != nil {
		return err
	}
	status := "redeemed"
	if s.Replayed {
		status = "replayed"
	}
	return c.JSON(http.StatusOK, redeemResponse{Status: status})
}

// readBinding reads the optional, size-limited, strict JSON body. No body
// or an empty one means no binding.
func readBinding(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxRedeemBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, problem.Wrap(problem.PayloadTooLarge, "body-too-large", "request body is too large", err)
		}
		return nil, problem.Wrap(problem.Malformed, "body-unreadable", "request body could not be read", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, problem.New(problem.UnsupportedMediaType, "unsupported-media-type", "the body must be application/json")
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var rr redeemRequest
	if err := dec.Decode(&rr); err != nil {
		return nil, problem.Wrap(problem.Malformed, "body-malformed", `the body must be {"binding": "<string>"}`, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, problem.New(problem.Malformed, "body-malformed", "unexpected data after the JSON object")
	}
	if len(rr.Binding) > maxBinding {
		return nil, problem.Newf(problem.Malformed, "binding-too-long", "the binding is longer than %d bytes", maxBinding)
	}
	return []byte(rr.Binding), nil
}
