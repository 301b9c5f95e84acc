package audit

import (
	"fmt"
	"sort"
)

// Check names one of the attacker's rules.
type Check string

// The attacker's rules.
const (
	CheckJoin     Check = "join"     // a buyer-specific value on both sides
	CheckTime     Check = "time"     // a fine time on the redeemer side
	CheckUpstream Check = "upstream" // a client identifier reached the upstream
	CheckExposure Check = "exposure" // a secret or a client IP where it must not be
	CheckAddress  Check = "address"  // one source address connected to both sides
	// CheckBinding: a request binding outlived its replay window.
	CheckBinding Check = "binding"
	// CheckPartition: clients were handed different public values.
	CheckPartition Check = "partition"
)

// Finding is one way the attacker found to link or to learn too much.
type Finding struct {
	Check Check
	What  string // what was found, without the secret itself
	At    string // the place (for joins: the redeemer-side place)
	Other string // for joins: the issuer-side place
}

func (f Finding) String() string {
	if f.Other != "" {
		return fmt.Sprintf("[%s] %s: %s <-> %s", f.Check, f.What, f.Other, f.At)
	}
	return fmt.Sprintf("[%s] %s at %s", f.Check, f.What, f.At)
}

// Attack runs every rule over e and returns what it found, ordered by rule
// and place. No finding means: no value joins the two sides, every stored
// redeemer-side time is coarse, the upstream saw no client identifier, no
// secret or client address is anywhere it must not be, no source address
// connected to both sides, no request binding outlived its window and
// every client was handed the same public values.
func Attack(e *Evidence, k Knowledge) []Finding {
	var out []Finding
	out = append(out, joins(e, k)...)
	out = append(out, fineTimes(e, k)...)
	out = append(out, upstreamLeaks(e, k)...)
	out = append(out, exposures(e, k)...)
	out = append(out, addressJoins(e, k)...)
	out = append(out, liveBindings(e)...)
	out = append(out, partitions(e)...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Check != out[j].Check {
			return out[i].Check < out[j].Check
		}
		return out[i].At < out[j].At
	})
	return out
}

// Of returns the findings of one rule.
func Of(fs []Finding, c Check) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Check == c {
			out = append(out, f)
		}
	}
	return out
}
