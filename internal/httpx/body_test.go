package httpx

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestUnreadableBodyIs400: a body that cannot be read (malformed chunked
// framing, cut short) is the client's fault: 400 body-unreadable, not 500.
// A body over a handler's limit stays 413, a good body is read as it is.
func TestUnreadableBodyIs400(t *testing.T) {
	e := NewEcho(slog.New(slog.DiscardHandler))
	e.POST("/read", func(c echo.Context) error {
		b, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 8))
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, string(b))
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	tests := []struct {
		name   string
		body   string // after the head
		header string
		status int
		code   string
	}{
		{"malformed chunk size", "zz\r\nabc\r\n0\r\n\r\n", "Transfer-Encoding: chunked", 400, "body-unreadable"},
		{"chunk cut short", "5\r\nab", "Transfer-Encoding: chunked", 400, "body-unreadable"},
		{"over the limit", "0123456789", "Content-Length: 10", 413, "body-too-large"},
		{"good chunked body", "3\r\nabc\r\n0\r\n\r\n", "Transfer-Encoding: chunked", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, "POST /read HTTP/1.1\r\nHost: x\r\n"+tc.header+"\r\n\r\n"+tc.body); err != nil {
				t.Fatal(err)
			}
			if tc.name == "chunk cut short" {
				_ = conn.(*net.TCPConn).CloseWrite()
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.code == "" {
				if string(body) != "abc" {
					t.Fatalf("body read as %q", body)
				}
				return
			}
			var p struct{ Type string }
			if err := json.Unmarshal(body, &p); err != nil || !strings.HasSuffix(p.Type, "/"+tc.code) {
				t.Fatalf("problem %s, want %s", body, tc.code)
			}
		})
	}
}
