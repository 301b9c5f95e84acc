package admin

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	l := newLimiter(LoginLimits{PerUser: 3, Window: 10 * time.Minute, Global: 6, GlobalWindow: time.Minute})
	type step struct {
		name    string
		at      time.Duration
		user    string
		fail    bool // record a failure after an allowed attempt
		allow   bool
		minWait time.Duration
	}
	steps := []step{
		{name: "first failure", at: 0, user: "alice", fail: true, allow: true},
		{name: "second failure", at: time.Second, user: "alice", fail: true, allow: true},
		{name: "third failure", at: 2 * time.Second, user: "alice", fail: true, allow: true},
		{name: "alice locked", at: 3 * time.Second, user: "alice", allow: false, minWait: 9 * time.Minute},
		{name: "bob unaffected", at: 4 * time.Second, user: "bob", allow: true},
		{name: "global budget: 5th attempt", at: 5 * time.Second, user: "carol", allow: true},
		{name: "global budget: 6th attempt", at: 6 * time.Second, user: "dave", allow: true},
		{name: "global budget spent", at: 7 * time.Second, user: "erin", allow: false, minWait: 50 * time.Second},
		{name: "global window passed", at: 70 * time.Second, user: "erin", allow: true},
		{name: "alice still locked", at: 9 * time.Minute, user: "alice", allow: false},
		{name: "alice's oldest failure left the window", at: 10*time.Minute + time.Second, user: "alice", fail: true, allow: true},
		{name: "one failure left in the window", at: 10*time.Minute + 2*time.Second, user: "alice", allow: true},
	}
	for _, st := range steps {
		now := t0.Add(st.at)
		ok, wait := l.allow(st.user, now)
		if ok != st.allow {
			t.Fatalf("%s: allow = %v, want %v", st.name, ok, st.allow)
		}
		if !ok && wait < st.minWait {
			t.Errorf("%s: retry after %s, want at least %s", st.name, wait, st.minWait)
		}
		if ok && st.fail {
			l.fail(st.user, now)
		}
	}
	// Success forgets the failures.
	l.succeed("alice")
	if ok, _ := l.allow("alice", t0.Add(10*time.Minute+3*time.Second)); !ok {
		t.Error("alice still locked after a successful login")
	}
}

// The per-name table stays bounded under a flood of names.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(DefaultLoginLimits)
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	for i := range maxTrackedNames + 500 {
		l.fail(string(rune('a'+i%26))+time.Duration(i).String(), now)
	}
	if n := len(l.failures); n > maxTrackedNames {
		t.Fatalf("%d names tracked, want at most %d", n, maxTrackedNames)
	}
}
