package audit

import (
	"fmt"
	"slices"
	"time"
)

// Side is which half of the deployment a piece of evidence comes from.
type Side int

// The two sides the attacker tries to join.
const (
	// Issuer is everything that knows who paid: the issuer's database,
	// logs and metrics, Stripe.
	Issuer Side = iota + 1
	// Redeemer is everything that knows which requests were made: the
	// redeemer's database, logs and metrics, the upstream model provider.
	Redeemer
	// Client is what clients were answered (error bodies): searched for
	// exposed secrets only, neither joined nor time-checked.
	Client
	// Relay is an Oblivious HTTP relay's view (its log), a party of its
	// own: searched for exposed secrets and addresses only.
	Relay
)

func (s Side) String() string {
	switch s {
	case Issuer:
		return "issuer"
	case Redeemer:
		return "redeemer"
	case Client:
		return "client"
	case Relay:
		return "relay"
	}
	return fmt.Sprintf("side(%d)", int(s))
}

// Item is one value of the evidence: a database cell, a log field, a header
// value, a request body member, a metrics line.
//
// Value is one of: nil, []byte (binary), string (text), time.Time, int64,
// float64, bool.
type Item struct {
	Side   Side
	Source string // where the evidence was gathered: "redeemer-db", "issuer-log", "upstream"…
	Where  string // where in the source: "spent_tokens[3].nonce", "line 12 msg", "request 4 header User-Agent"
	Value  any
}

// Place names the item for a report.
func (it Item) Place() string { return it.Source + ":" + it.Where }

// bytes returns the item's bytes for substring searches: the text, the
// binary value, or nothing for other types.
func (it Item) bytes() []byte {
	switch v := it.Value.(type) {
	case string:
		return []byte(v)
	case []byte:
		return v
	}
	return nil
}

// Evidence is everything gathered from a run.
type Evidence struct {
	Items []Item
	// Upstream are the requests the upstream model provider received; they
	// are also among Items (source "upstream"), and are kept whole for the
	// header checks.
	Upstream []Request
	// Connections are the source addresses of the connections the issuer
	// and the redeemer accepted (address.go).
	Connections []Connection
}

// Add appends items.
func (e *Evidence) Add(items ...Item) { e.Items = append(e.Items, items...) }

// Clone returns a deep copy, to plant values in without touching e.
func (e *Evidence) Clone() *Evidence {
	c := &Evidence{Items: make([]Item, len(e.Items)), Upstream: make([]Request, len(e.Upstream)),
		Connections: slices.Clone(e.Connections)}
	for i, it := range e.Items {
		if b, ok := it.Value.([]byte); ok {
			it.Value = slices.Clone(b)
		}
		c.Items[i] = it
	}
	for i, r := range e.Upstream {
		c.Upstream[i] = r.clone()
	}
	return c
}

// Count returns how many items each source contributed, for the test log.
func (e *Evidence) Count() map[string]int {
	n := map[string]int{}
	for _, it := range e.Items {
		n[it.Source]++
	}
	return n
}

// normalize turns a database or JSON value into one of Item's value types.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, string, []byte, bool, int64, float64:
		return x
	case time.Time:
		return x
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case [16]byte: // uuid
		return x[:]
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
