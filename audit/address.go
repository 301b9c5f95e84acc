package audit

import (
	"fmt"
	"sort"
	"time"
)

// Connection is one TCP connection a server side accepted, as its load
// balancer (or hosting provider) sees it: the source address and when.
type Connection struct {
	Side   Side
	Source string // "issuer-connections", "redeemer-connections"
	N      int    // its number in the source
	Addr   string // the source IP address
	At     time.Time
}

// Place names the connection for a report.
func (c Connection) Place() string { return fmt.Sprintf("%s:connection %d", c.Source, c.N) }

// AddConnections adds the source addresses of the connections a side
// accepted. They are kept apart from Items: a server's connection log holds
// client addresses by nature, so the exposure rule does not apply to it;
// the address rule joins them instead.
func (e *Evidence) AddConnections(side Side, source string, addrs []string, times []time.Time) {
	for i, a := range addrs {
		c := Connection{Side: side, Source: source, N: i, Addr: a}
		if i < len(times) {
			c.At = times[i]
		}
		e.Connections = append(e.Connections, c)
	}
}

// addressJoins finds source addresses that connected to both sides: the
// operator's load balancer joins a purchase to a chat by address (and
// time) unless clients come through a relay or an anonymity network. The
// servers' own addresses (Knowledge.ServerIPs: loopback, a relay's egress
// known to everyone) do not count. One finding per address.
func addressJoins(e *Evidence, k Knowledge) []Finding {
	servers := map[string]bool{}
	for _, ip := range k.ServerIPs {
		servers[ip] = true
	}
	issuer := map[string]Connection{}
	for _, c := range e.Connections {
		if c.Side == Issuer && !servers[c.Addr] {
			if _, ok := issuer[c.Addr]; !ok {
				issuer[c.Addr] = c
			}
		}
	}
	seen := map[string]bool{}
	var out []Finding
	for _, c := range e.Connections {
		if c.Side != Redeemer || servers[c.Addr] || seen[c.Addr] {
			continue
		}
		if ic, ok := issuer[c.Addr]; ok {
			seen[c.Addr] = true
			out = append(out, Finding{Check: CheckAddress, What: "source address " + c.Addr + " connected to both sides", At: c.Place(), Other: ic.Place()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].What < out[j].What })
	return out
}
