package admin

import (
	"sync"
	"time"
)

// LoginLimits bound password guessing. They are kept in memory, per
// process: a restart forgets them, and each replica counts on its own.
type LoginLimits struct {
	// PerUser failed logins for one name within Window lock that name
	// until the oldest failure leaves the window (default 5 per 15 min).
	PerUser int
	Window  time.Duration
	// Global login attempts of any kind within GlobalWindow, across all
	// names (default 20 per minute): it bounds guessing over many names and
	// the memory and CPU that password hashing costs. A flood delays real
	// operators by at most GlobalWindow after it stops.
	Global       int
	GlobalWindow time.Duration
}

// DefaultLoginLimits are 5 failures per name per 15 minutes and 20
// attempts in all per minute.
var DefaultLoginLimits = LoginLimits{PerUser: 5, Window: 15 * time.Minute, Global: 20, GlobalWindow: time.Minute}

func (l LoginLimits) withDefaults() LoginLimits {
	d := DefaultLoginLimits
	if l.PerUser <= 0 {
		l.PerUser = d.PerUser
	}
	if l.Global <= 0 {
		l.Global = d.Global
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	if l.GlobalWindow <= 0 {
		l.GlobalWindow = d.GlobalWindow
	}
	return l
}

// maxTrackedNames bounds the per-name table; beyond it, the oldest entries go.
const maxTrackedNames = 10000

// limiter counts login attempts in sliding windows.
type limiter struct {
	lim LoginLimits

	mu       sync.Mutex
	all      []time.Time            // every attempt within GlobalWindow
	failures map[string][]time.Time // failures per name within Window
}

func newLimiter(l LoginLimits) *limiter {
	return &limiter{lim: l, failures: make(map[string][]time.Time)}
}

// prune drops times at or before cutoff from a sorted slice.
func prune(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(cutoff) {
		i++
	}
	return ts[i:]
}

// allow decides on an attempt for name at now. An allowed attempt is
// counted as a failure of name at once (a reservation), before the password
// is checked: concurrent guesses cannot all pass the check while the first
// ones are still being verified. The caller then calls succeed (the
// password was right: the name's failures are forgotten) or release (the
// attempt was not decided, e.g. the store failed); a wrong password needs
// nothing more. When not allowed, retry is how long until it may be.
func (l *limiter) allow(name string, now time.Time) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = prune(l.all, now.Add(-l.lim.GlobalWindow))
	f := prune(l.failures[name], now.Add(-l.lim.Window))
	if len(f) == 0 {
		delete(l.failures, name)
	} else {
		l.failures[name] = f
	}
	if len(f) >= l.lim.PerUser {
		return false, f[0].Add(l.lim.Window).Sub(now)
	}
	if len(l.all) >= l.lim.Global {
		return false, l.all[0].Add(l.lim.GlobalWindow).Sub(now)
	}
	l.all = append(l.all, now)
	l.record(name, now)
	return true, 0
}

// record counts a failure of name at now; the caller holds mu.
func (l *limiter) record(name string, now time.Time) {
	if _, ok := l.failures[name]; !ok && len(l.failures) >= maxTrackedNames {
		l.evict(now)
	}
	l.failures[name] = append(l.failures[name], now)
}

// release gives back the reservation that allow made for name at at.
func (l *limiter) release(name string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.failures[name]
	for i := len(f) - 1; i >= 0; i-- {
		if f[i].Equal(at) {
			f = append(f[:i:i], f[i+1:]...)
			break
		}
	}
	if len(f) == 0 {
		delete(l.failures, name)
	} else {
		l.failures[name] = f
	}
}

// succeed forgets name's failures.
func (l *limiter) succeed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, name)
}

// evict drops expired entries, and if none expired, an arbitrary one.
func (l *limiter) evict(now time.Time) {
	cutoff := now.Add(-l.lim.Window)
	for name, f := range l.failures {
		if len(prune(f, cutoff)) == 0 {
			delete(l.failures, name)
		}
	}
	for name := range l.failures {
		if len(l.failures) < maxTrackedNames {
			return
		}
		delete(l.failures, name)
	}
}
