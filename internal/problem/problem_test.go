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
