package e2e

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

// rawReq builds an HTTP/1.1 request by hand; lines are joined with CRLF.
func rawReq(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n"))
}

// connCases: requests a well-behaved client library cannot send, written
// on raw connections: header injection, smuggling, malformed framing,
// oversized heads, path tricks.
func connCases(m material) []hostile {
	good := base64.URLEncoding.EncodeToString(m.good[2].Marshal())
	forged := base64.URLEncoding.EncodeToString(mutated(m.good[2].Marshal(), func(b []byte) []byte { b[len(b)-1] ^= 1; return b }))
	host := "Host: blindpass.test"
	tokenHdr := `Authorization: PrivateToken token="` + good + `"`
	c := func(name, target string, byServer bool, want int, lines ...string) hostile {
		return hostile{name: "raw/" + name, target: target, raw: rawReq(lines...), byServer: byServer, want: want}
	}
	bigHeader := "X-Pad: " + strings.Repeat("a", 70<<10)
	var many []string
	for i := range 3000 {
		many = append(many, fmt.Sprintf("X-H%d: %s", i, strings.Repeat("b", 20)))
	}
	return []hostile{
		c("garbage request line", "redeemer", true, 400, "HELLO", "", ""),
		c("invalid method", "redeemer", true, 0, "P@ST /v1/redeem HTTP/1.1", host, "", ""),
		c("CR inside a header value", "redeemer", true, 400, "POST /v1/redeem HTTP/1.1", host, "Authorization: PrivateToken token=\"x\rX-Injected: 1\"", "Content-Length: 0", "", ""),
		c("NUL inside a header value", "issuer", true, 400, "GET /v1/orders/current HTTP/1.1", host, "Authorization: Bearer a\x00b", "", ""),
		c("space in a header name", "issuer", true, 400, "GET /v1/plans HTTP/1.1", host, "Bad Header: x", "", ""),
		// net/http unfolds obs-fold (RFC 9112 §5.2 allows it): a folded
		// forged token is refused like any forged token.
		c("obsolete line folding", "redeemer", true, 401, "POST /v1/redeem HTTP/1.1", host, "Authorization: PrivateToken", ` token="`+forged+`"`, "Content-Length: 0", "", ""),
		c("two Host headers", "issuer", true, 400, "GET /v1/plans HTTP/1.1", host, "Host: evil.test", "", ""),
		// Smuggling: net/http reads such a body as chunked (RFC 9112 §6.3:
		// Transfer-Encoding wins); the forged token is refused.
		c("Content-Length and chunked together", "redeemer", true, 0, "POST /v1/redeem HTTP/1.1", host, `Authorization: PrivateToken token="`+forged+`"`, "Content-Length: 4", "Transfer-Encoding: chunked", "", "0", "", ""),
		c("two different Content-Lengths", "redeemer", true, 400, "POST /v1/redeem HTTP/1.1", host, tokenHdr, "Content-Length: 2", "Content-Length: 3", "", "{}"),
		c("header over 64 KB", "redeemer", true, 431, "POST /v1/redeem HTTP/1.1", host, bigHeader, "", ""),
		c("3000 headers", "issuer", true, 431, append(append([]string{"GET /v1/plans HTTP/1.1", host}, many...), "", "")...),
		c("URL of 100 KB", "issuer", true, 0, "GET /v1/plans?"+strings.Repeat("q", 100<<10)+" HTTP/1.1", host, "", ""),
		c("malformed chunked binding", "redeemer", false, 400, "POST /v1/redeem HTTP/1.1", host, tokenHdr, "Content-Type: application/json", "Transfer-Encoding: chunked", "", "zz", "{}", "0", "", ""),
		c("malformed chunked token request", "issuer", false, 400, "POST /v1/token-request HTTP/1.1", host, "Authorization: "+m.paid.bearer()["Authorization"],
			"Content-Type: "+protocol.MediaTypeTokenRequest, "Transfer-Encoding: chunked", "", "zz", "{}", "0", "", ""),
		c("malformed chunked order", "issuer", false, 400, "POST /v1/orders HTTP/1.1", host, "Content-Type: application/json", "Transfer-Encoding: chunked", "", "zz", "{}", "0", "", ""),
		c("malformed chunked chat", "redeemer", false, 400, "POST /v1/chat/completions HTTP/1.1", host, tokenHdr, "Content-Type: application/json", "Transfer-Encoding: chunked", "", "zz", "{}", "0", "", ""),
		c("absolute-form request target", "redeemer", false, 401, "POST http://evil.test/v1/redeem HTTP/1.1", host, "Content-Length: 0", "", ""),
		c("dot segments in the path", "redeemer", false, 404, "POST /v1/redeem/../../v1/redeem HTTP/1.1", host, tokenHdr, "Content-Length: 0", "", ""),
		c("double slashes in the path", "redeemer", false, 404, "POST //v1//redeem HTTP/1.1", host, tokenHdr, "Content-Length: 0", "", ""),
		c("backslashes in the path", "issuer", false, 404, `GET /v1\orders\current HTTP/1.1`, host, "", ""),
	}
}

// TestHostileSlowClients: clients that trickle their request head one byte
// at a time (slow loris) are cut off by every listener's ReadHeaderTimeout
// (5s): the connection is closed (net/http may first write a 4xx) well
// before the client would have finished.
func TestHostileSlowClients(t *testing.T) {
	p := startDev(t, t.TempDir(), "")
	const readHeaderTimeout = 5 * time.Second
	for _, tc := range []struct{ name, url, head string }{
		{"issuer", p.IssuerURL, "POST /v1/token-request HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "},
		{"redeemer", p.RedeemerURL, "POST /v1/redeem HTTP/1.1\r\nHost: x\r\nAuthorization: PrivateToken token=\""},
		{"gateway", p.RedeemerURL, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", hostOf(tc.url))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			closed := make(chan string, 1)
			go func() {
				// Everything the server sends until it closes the connection.
				all, err := io.ReadAll(conn)
				switch {
				case errors.Is(err, syscall.ECONNRESET):
					closed <- "reset" // closed with our unread bytes pending
				case err != nil && !errors.Is(err, net.ErrClosed):
					closed <- "read error: " + err.Error()
				case len(all) > 0:
					closed <- "answered " + strings.SplitN(string(all), "\r\n", 2)[0] + ", then closed"
				default:
					closed <- "closed"
				}
			}()
			// One byte every 250ms: the head would take about a minute.
			data := []byte(tc.head + strings.Repeat("a", 240))
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for i := 0; i < len(data); i++ {
				select {
				case how := <-closed:
					elapsed := time.Since(start)
					t.Logf("%s after %s and %d bytes", how, elapsed.Round(time.Millisecond), i)
					if elapsed < readHeaderTimeout-time.Second || elapsed > readHeaderTimeout+3*time.Second {
						t.Fatalf("cut off after %s, want about %s", elapsed, readHeaderTimeout)
					}
					if strings.HasPrefix(how, "read error") || (strings.HasPrefix(how, "answered") && !strings.HasPrefix(how, "answered HTTP/1.1 4")) {
						t.Fatalf("the slow client was %s, want a closed connection (after a 4xx at most)", how)
					}
					return
				case <-tick.C:
				}
				if _, err := conn.Write(data[i : i+1]); err != nil {
					elapsed := time.Since(start)
					t.Logf("write failed after %s: %v", elapsed.Round(time.Millisecond), err)
					if elapsed > readHeaderTimeout+3*time.Second {
						t.Fatalf("cut off only after %s", elapsed)
					}
					return
				}
			}
			t.Fatalf("a client trickling its head for %s was never cut off", time.Since(start))
		})
	}
}
