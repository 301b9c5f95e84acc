package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"
)

// TestRefillKilledAfterIssuerCommitted (issue 15 item 6): `blindpass
// refill` is killed with SIGKILL at the worst moment: the issuer has
// committed a batch (its answer is on the way) and the client has not
// received it. The next `blindpass refill` finishes the batch saved in the
// wallet with the same Idempotency-Key, and the wallet holds the order's
// full credit. Fails on the earlier client, which kept the batch's blinding
// state in memory only and lost its 25 credits.
func TestRefillKilledAfterIssuerCommitted(t *testing.T) {
	p := startDev(t, t.TempDir(), "")
	u := newCLIUser(t, filepath.Join(t.TempDir(), "w.json"))
	u.buy("--issuer", p.IssuerURL, "--redeemer", p.RedeemerURL, "--plan", "starter", "--count", "1")
	if got := u.balance(); got != 1 {
		t.Fatalf("%d tokens after buying 1, want 1", got)
	}

	var cmd *exec.Cmd
	socks := startKillingSOCKS(t, func() { _ = cmd.Process.Kill() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd = u.command(ctx, "--socks5", "socks5://"+socks, "refill")
	var out, errb testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("refill was not killed mid-issuance (%v)\nstdout: %s\nstderr: %s", cmd.ProcessState, &out, &errb)
	}
	if got := u.balance(); got != 1 {
		t.Fatalf("%d tokens after the killed refill, want 1", got)
	}

	if r := u.must("refill"); !strings.Contains(r, "99 new tokens") {
		t.Fatalf("refill after the kill: %s", r)
	}
	if got := u.balance(); got != 100 {
		t.Fatalf("the wallet holds %d tokens, want the order's full 100", got)
	}
}

// startKillingSOCKS runs a SOCKS5 proxy (RFC 1928: no authentication,
// CONNECT) that passes connections through, except that once a connection
// has carried a token request (POST /v1/token-request), the first bytes of
// the issuer's answer (the batch is committed) make it call kill and close
// the connection: the client never sees the answer.
func startKillingSOCKS(t *testing.T, kill func()) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var killed atomic.Bool
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go socksConn(c, func() {
				if killed.CompareAndSwap(false, true) {
					kill()
				}
			})
		}
	}()
	return ln.Addr().String()
}

func socksConn(c net.Conn, kill func()) {
	defer c.Close()
	target, err := socksHandshake(c)
	if err != nil {
		return
	}
	s, err := net.Dial("tcp", target)
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	defer s.Close()
	if _, err := c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		return
	}
	var tokenRequest atomic.Bool
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if bytes.Contains(buf[:n], []byte("POST /v1/token-request ")) {
					tokenRequest.Store(true)
				}
				if _, werr := s.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if tokenRequest.Load() {
				kill()
				return
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// socksHandshake reads a SOCKS5 greeting and CONNECT request and returns
// the target host:port.
func socksHandshake(c net.Conn) (string, error) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	head := make([]byte, 2)
	if _, err := io.ReadFull(c, head); err != nil || head[0] != 5 {
		return "", errors.New("not SOCKS5")
	}
	if _, err := io.ReadFull(c, make([]byte, head[1])); err != nil {
		return "", err
	}
	if _, err := c.Write([]byte{5, 0}); err != nil { // no authentication
		return "", err
	}
	req := make([]byte, 4)
	if _, err := io.ReadFull(c, req); err != nil || req[0] != 5 || req[1] != 1 {
		return "", errors.New("not a CONNECT")
	}
	var host string
	switch req[3] {
	case 1, 4: // IPv4, IPv6
		ip := make([]byte, 4)
		if req[3] == 4 {
			ip = make([]byte, 16)
		}
		if _, err := io.ReadFull(c, ip); err != nil {
			return "", err
		}
		host = net.IP(ip).String()
	case 3: // a name
		l := make([]byte, 1)
		if _, err := io.ReadFull(c, l); err != nil {
			return "", err
		}
		name := make([]byte, l[0])
		if _, err := io.ReadFull(c, name); err != nil {
			return "", err
		}
		host = string(name)
	default:
		return "", errors.New("unknown address type")
	}
	port := make([]byte, 2)
	if _, err := io.ReadFull(c, port); err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port)))), nil
}
