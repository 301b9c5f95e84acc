package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/audit"
)

// connLog is the operator's load balancer in front of a server: a TCP
// forwarder that records the source address and time of every connection
// it accepts. The linkability audit hands these records to the attacker:
// whoever runs the load balancer (or hosts the servers) has them.
type connLog struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	addrs []string
	times []time.Time
	conns map[net.Conn]bool
}

// newConnLog listens on a fresh loopback port; start gives it its target.
// Listen before picking the servers' addresses with freeAddr, so that no
// server is given the load balancer's own port (which hung the audit once:
// the balancer forwarded to a port nothing served).
func newConnLog(t *testing.T) *connLog {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connLog{ln: ln, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		for conn := range c.conns {
			conn.Close()
		}
		c.mu.Unlock()
	})
	return c
}

// start forwards the connections it accepts to target.
func (c *connLog) start(target string) {
	c.target = target
	go c.serve()
}

// URL is the load balancer's http:// base URL.
func (c *connLog) URL() string { return "http://" + c.ln.Addr().String() }

func (c *connLog) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		host, _, _ := net.SplitHostPort(in.RemoteAddr().String())
		c.mu.Lock()
		c.addrs = append(c.addrs, host)
		c.times = append(c.times, time.Now())
		c.conns[in] = true
		c.mu.Unlock()
		go c.forward(in)
	}
}

func (c *connLog) forward(in net.Conn) {
	defer func() {
		in.Close()
		c.mu.Lock()
		delete(c.conns, in)
		c.mu.Unlock()
	}()
	out, err := net.Dial("tcp", c.target)
	if err != nil {
		return
	}
	defer out.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(out, in); _ = out.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { _, _ = io.Copy(in, out); _ = in.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}

// records returns the source addresses and times so far.
func (c *connLog) records() ([]string, []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.addrs...), append([]time.Time(nil), c.times...)
}

// addConnections gives the attacker the load balancers' records.
func (w *world) addConnections(ev *audit.Evidence) {
	a, ts := w.issuerLB.records()
	ev.AddConnections(audit.Issuer, "issuer-connections", a, ts)
	a, ts = w.redeemerLB.records()
	ev.AddConnections(audit.Redeemer, "redeemer-connections", a, ts)
}
