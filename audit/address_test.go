package audit

import (
	"testing"
	"time"
)

func TestAddressJoins(t *testing.T) {
	now := time.Now()
	k := Knowledge{ServerIPs: []string{"127.0.0.1"}}
	e := &Evidence{}
	e.AddConnections(Issuer, "issuer-connections", []string{"127.0.0.1", "127.0.1.1", "127.0.1.2"}, []time.Time{now, now, now})
	e.AddConnections(Redeemer, "redeemer-connections", []string{"127.0.0.1", "127.0.1.3"}, nil)
	if fs := Attack(e, k); len(fs) != 0 {
		t.Fatalf("no address on both sides but the server's, yet: %v", fs)
	}
	e.AddConnections(Redeemer, "redeemer-connections", []string{"127.0.1.2", "127.0.1.2"}, nil)
	fs := Of(Attack(e, k), CheckAddress)
	if len(fs) != 1 || fs[0].Other != "issuer-connections:connection 2" || fs[0].At != "redeemer-connections:connection 0" {
		t.Fatalf("findings %v", fs)
	}
	// Connection logs hold client addresses by nature: not an exposure.
	if x := Of(Attack(e, k), CheckExposure); len(x) != 0 {
		t.Fatalf("exposures %v", x)
	}
	// A relay's log is searched for exposures.
	e.Add(Item{Side: Relay, Source: "relay-log", Where: "line 1 msg", Value: "from 127.0.1.9"})
	if x := Of(Attack(e, k), CheckExposure); len(x) != 1 {
		t.Fatalf("exposures %v", x)
	}
}
