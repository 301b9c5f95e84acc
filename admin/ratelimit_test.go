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
		fail    bool // an allowed attempt fails (else it succeeds)
		allow   bool
		minWait time.Duration
		release bool // the attempt is given back (the store failed)
	}
	steps := []step{
		{name: "first failure", at: 0, user: "alice", fail: true, allow: true},
		{name: "second failure", at: time.Second, user: "alice", fail: true, allow: true},
		{name: "third failure", at: 2 * time.Second, user: "alice", fail: true, allow: true},
		{name: "alice locked", at: 3 * time.Second, user: "alice", allow: false, minWait: 9 * time.Minute},
		{name: "bob unaffected", at: 4 * time.Second, user: "bob", allow: true},
		{name: "a store failure gives the attempt back", at: 4*time.Second + 1, user: "bob", allow: true, release: true},
		{name: "global budget: 6th attempt", at: 6 * time.Second, user: "dave", allow: true},
		{name: "global budget spent", at: 7 * time.Second, user: "erin", allow: false, minWait: 50 * time.Second},
		{name: "global window passed", at: 70 * time.Second, user: "erin", allow: true},
		{name: "alice still locked", at: 9 * time.Minute, user: "alice", allow: false},
		{name: "alice's oldest failure left the window", at: 10*time.Minute + time.Second, user: "alice", fail: true, allow: true},
		{name: "one failure left in the window", at: 10*time.Minute + 2*time.Second, user: "alice", fail: true, allow: true},
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
		switch {
		case ok && st.release:
			l.release(st.user, now)
		case ok && !st.fail:
			l.succeed(st.user)
		}
	}
	if f := l.failures["bob"]; len(f) != 0 {
		t.Errorf("bob: %d failures counted, want none (one success, one released attempt)", len(f))
	}
	// Success forgets the failures.
	l.succeed("alice")
	if ok, _ := l.allow("alice", t0.Add(10*time.Minute+4*time.Second)); !ok {
		t.Error("alice still locked after a successful login")
	}
}

// The per-name table stays bounded under a flood of names.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(LoginLimits{PerUser: 5, Window: time.Hour, Global: 2 * maxTrackedNames, GlobalWindow: time.Minute})
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	for i := range maxTrackedNames + 500 {
		l.allow(string(rune('a'+i%26))+time.Duration(i).String(), now)
	}
	if n := len(l.failures); n > maxTrackedNames {
		t.Fatalf("%d names tracked, want at most %d", n, maxTrackedNames)
	}
}

// Attempts are counted when they are allowed, not when their verification
// ends: of many concurrent guesses for one name, at most PerUser go ahead.
// (Issue 15 item 5: the failure was recorded after argon2id, so 20 of 20
// parallel guesses were verified against a limit of 5.)
func TestLimiterReservesBeforeVerifying(t *testing.T) {
	l := newLimiter(LoginLimits{PerUser: 5, Window: 15 * time.Minute, Global: 100, GlobalWindow: time.Minute})
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	allowed := 0
	for range 20 { // none of them has finished verifying yet
		if ok, _ := l.allow("alice", now); ok {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of 20 undecided attempts allowed, want 5", allowed)
	}
}
