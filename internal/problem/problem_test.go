package problem

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestWrite(t *testing.T) {
	errSpent := Define(Conflict, "token-already-spent", "the token was already spent")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantDetail string
		wantHeader [2]string
		wantLogged bool
	}{
		{"sentinel wrapped", fmt.Errorf("spend: %w", errSpent), 409, TypeBase + "token-already-spent", "the token was already spent", [2]string{}, false},
		{"with header", New(Unauthorized, "token-required", "a token is required").WithHeader("WWW-Authenticate", `PrivateToken challenge="x"`), 401, TypeBase + "token-required", "a token is required", [2]string{"WWW-Authenticate", `PrivateToken challenge="x"`}, false},
		{"plain error is internal and hides detail", errors.New("pq: password=hunter2 failed"), 500, TypeBase + "internal", "internal error", [2]string{}, true},
		{"echo 404", echo.NewHTTPError(http.StatusNotFound, "Not Found"), 404, TypeBase + "not-found", "Not Found", [2]string{}, false},
		{"body too large", &http.MaxBytesError{Limit: 10}, 413, TypeBase + "body-too-large", "request body is too large", [2]string{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/v1/checkout/dev/ord_secretid", nil)
			Write(rec, req, "/v1/checkout/dev/:order_id", logger, tc.err)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != MediaType {
				t.Fatalf("content type %q", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body["type"] != tc.wantType || body["detail"] != tc.wantDetail || body["status"] != float64(tc.wantStatus) {
				t.Fatalf("body %v", body)
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Fatal("internal detail leaked to the client")
			}
			if tc.wantHeader[0] != "" && rec.Header().Get(tc.wantHeader[0]) != tc.wantHeader[1] {
				t.Fatalf("header %s = %q", tc.wantHeader[0], rec.Header().Get(tc.wantHeader[0]))
			}
			if got := logs.Len() > 0; got != tc.wantLogged {
				t.Fatalf("logged = %v, want %v: %s", got, tc.wantLogged, logs.String())
			}
			if strings.Contains(logs.String(), "ord_secretid") {
				t.Fatal("the raw path (with an order id) was logged")
			}
		})
	}
}

func TestIsComparesKindAndCode(t *testing.T) {
	a := Define(Forbidden, "order-frozen", "frozen")
	if !errors.Is(fmt.Errorf("x: %w", a.With("other detail")), a) {
		t.Fatal("a copy with another detail must match its sentinel")
	}
	if errors.Is(New(Forbidden, "order-unpaid", "unpaid"), a) {
		t.Fatal("different codes must not match")
	}
}

func TestExtensionsDoNotOverrideStandardMembers(t *testing.T) {
	e := New(PaymentRequired, "insufficient-credit", "not enough").WithExtension("status", 200).WithExtension("credits_remaining", 3)
	b := Body(e)
	if b["status"] != 402 || b["credits_remaining"] != 3 {
		t.Fatalf("body %v", b)
	}
}

func TestOpenAIFormat(t *testing.T) {
	e := New(Conflict, "token-already-spent", "the token was already spent").
		WithExtension("tokens_consumed", true).WithExtension("message", "not this").
		WithHeader("Blindpass-Tokens-Consumed", "true")
	rec := httptest.NewRecorder()
	WriteFormat(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil), "/v1/chat/completions", nil, e, FormatOpenAI)
	if rec.Code != 409 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Blindpass-Tokens-Consumed") != "true" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	var body struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"message": "the token was already spent", "type": "token_already_spent", "code": "token_already_spent",
		"param": nil, "problem_type": TypeBase + "token-already-spent", "tokens_consumed": true,
	}
	if len(body.Error) != len(want) {
		t.Errorf("members %v, want %v", body.Error, want)
	}
	for k, v := range want {
		if body.Error[k] != v {
			t.Errorf("%s = %#v, want %#v", k, body.Error[k], v)
		}
	}

	// An internal error shows no detail; a param extension names the field.
	b := OpenAIBody(From(errors.New("pq: password=hunter2")))["error"].(map[string]any)
	if b["message"] != "internal error" || b["code"] != "internal" {
		t.Errorf("internal: %v", b)
	}
	b = OpenAIBody(New(Malformed, "parameter-limit", "n is at most 1").WithExtension("param", "n"))["error"].(map[string]any)
	if b["param"] != "n" {
		t.Errorf("param = %v", b["param"])
	}
}
