package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

// The redemption phases send their requests as plain HTTP/1.1 on kept-alive
// connections, one request at a time on each, and read the answers with
// net/http's own parser: the way wrk does it. net/http's Transport costs
// about a quarter of a core at 10,000 requests per second (two goroutines
// and channel hand-offs per connection), CPU that this machine's server
// and database would then not have. Only for http:// URLs; https goes
// through net/http.

// requestTimeout bounds one redemption on the wire.
const requestTimeout = 30 * time.Second

// wireClient sends POST /v1/redeem on a pool of connections.
type wireClient struct {
	addr, host, path string

	mu   sync.Mutex
	idle []*wireConn
}

type wireConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func newWireClient(redeemURL string) (*wireClient, error) {
	u, err := url.Parse(redeemURL)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("bench: %q is not an http:// URL", redeemURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &wireClient{addr: addr, host: u.Host, path: u.EscapedPath()}, nil
}

func (w *wireClient) get(ctx context.Context) (*wireConn, error) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		c := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		return c, nil
	}
	w.mu.Unlock()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", w.addr)
	if err != nil {
		return nil, err
	}
	return &wireConn{c: c, br: bufio.NewReaderSize(c, 4<<10), bw: bufio.NewWriterSize(c, 2<<10)}, nil
}

func (w *wireClient) put(c *wireConn) {
	w.mu.Lock()
	w.idle = append(w.idle, c)
	w.mu.Unlock()
}

// warm opens connections until n are idle, so that a measured phase does
// not time dialing (and the server's accepting) on top of redemptions.
func (w *wireClient) warm(ctx context.Context, n int) error {
	w.mu.Lock()
	need := n - len(w.idle)
	w.mu.Unlock()
	var d net.Dialer
	for range need {
		c, err := d.DialContext(ctx, "tcp", w.addr)
		if err != nil {
			return err
		}
		w.put(&wireConn{c: c, br: bufio.NewReaderSize(c, 4<<10), bw: bufio.NewWriterSize(c, 2<<10)})
	}
	return nil
}

// close closes the idle connections.
func (w *wireClient) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.idle {
		c.c.Close()
	}
	w.idle = nil
}

// redeem presents tok once; ok is a 200.
func (w *wireClient) redeem(ctx context.Context, tok protocol.Token) (ok bool, err error) {
	c, err := w.get(ctx)
	if err != nil {
		return false, err
	}
	status, keep, err := c.roundTrip(w.host, w.path, protocol.FormatAuthorization(tok))
	if err != nil {
		c.c.Close()
		return false, err
	}
	if keep {
		w.put(c)
	} else {
		c.c.Close()
	}
	if status != http.StatusOK {
		return false, &statusError{status}
	}
	return true, nil
}

// roundTrip sends one request and reads its whole answer; keep reports
// whether the connection may carry another.
func (c *wireConn) roundTrip(host, path, auth string) (status int, keep bool, err error) {
	if err := c.c.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return 0, false, err
	}
	fmt.Fprintf(c.bw, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Length: 0\r\n\r\n", path, host, auth)
	if err := c.bw.Flush(); err != nil {
		return 0, false, err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	res.Body.Close()
	if err != nil {
		return 0, false, err
	}
	return res.StatusCode, !res.Close, nil
}
