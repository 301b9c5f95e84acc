package keys

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/testkit"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/testdb"
	"github.com/blindpass/blindpass/protocol"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func newTestManager(t *testing.T, st Store, kek []byte, c *testkit.Clock) *Manager {
	t.Helper()
	m, err := NewManager(st, kek, DefaultPolicy(), slog.New(slog.DiscardHandler), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func epochs(ks []KeyInfo) []int64 {
	out := make([]int64, len(ks))
	for i, k := range ks {
		out[i] = k.Epoch
	}
	return out
}

// checkSigner checks that Signer finds exactly the key of epoch want (0 =
// none) among the published keys.
func checkSigner(t *testing.T, m *Manager, pub []KeyInfo, want int64) {
	t.Helper()
	for _, k := range pub {
		sk, id, err := m.Signer(k.TruncatedID())
		if k.Epoch != want {
			if !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Signer(epoch %d, %s) error = %v, want ErrUnknownKey", k.Epoch, k.State, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Signer(epoch %d) = %v", k.Epoch, err)
		}
		if id != k.ID || sk.KeyID() != k.ID || protocol.KeyID(protocol.MarshalPublicKey(sk.Public())) != k.ID {
			t.Fatalf("Signer(epoch %d) returned another key", k.Epoch)
		}
	}
}

func auditActions(t *testing.T, st store.AuditStore) []string {
	t.Helper()
	evs, err := st.ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- { // oldest first
		out = append(out, evs[i].Actor+" "+evs[i].Action+" "+evs[i].Subject)
	}
	return out
}

func TestScheduleEnsure(t *testing.T) {
	p := DefaultPolicy()
	P, L := p.IssuePeriod, p.Lead
	steps := []struct {
		name          string
		at            time.Time
		wantKeys      int
		wantPublished []int64 // directory order
		wantSigning   int64
	}{
		{"first key", t0, 1, []int64{1}, 1},
		{"before the lead time", t0.Add(P - L - time.Second), 1, []int64{1}, 1},
		{"lead time publishes the next key", t0.Add(P - L), 2, []int64{1, 2}, 1},
		{"next key signs from the old one's issue_until", t0.Add(P), 2, []int64{2, 1}, 2},
		{"three published", t0.Add(2*P - L), 3, []int64{2, 3, 1}, 2},
		{"oldest still redeemable", t0.Add(2*P - time.Second), 3, []int64{2, 3, 1}, 2},
		{"oldest gone at redeem_until", t0.Add(2 * P), 3, []int64{3, 2}, 3},
	}
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			st := ts.open(t)
			c := testkit.NewClock(t0)
			m := newTestManager(t, st, randBytes(t, 32), c)
			if !m.NextRotation().IsZero() || len(m.Published(t0)) != 0 {
				t.Fatal("a fresh manager has keys")
			}
			for _, s := range steps {
				c.Set(s.at)
				if err := m.Ensure(context.Background()); err != nil {
					t.Fatalf("%s: Ensure: %v", s.name, err)
				}
				all, err := m.List(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				pub := m.Published(s.at)
				if len(all) != s.wantKeys || !slices.Equal(epochs(pub), s.wantPublished) {
					t.Fatalf("%s: %d keys, published %v; want %d keys, published %v", s.name, len(all), epochs(pub), s.wantKeys, s.wantPublished)
				}
				checkSigner(t, m, pub, s.wantSigning)
				newest := all[len(all)-1]
				if want := newest.IssueUntil.Add(-L); !m.NextRotation().Equal(want) {
					t.Fatalf("%s: NextRotation = %v, want %v", s.name, m.NextRotation(), want)
				}
			}
			all, _ := m.List(context.Background())
			for i, k := range all {
				nb := t0.Add(time.Duration(i) * P)
				if !k.NotBefore.Equal(nb) || !k.IssueUntil.Equal(nb.Add(P)) || !k.RedeemUntil.Equal(nb.Add(P+p.RedeemGrace)) {
					t.Fatalf("epoch %d schedule %v %v %v", k.Epoch, k.NotBefore, k.IssueUntil, k.RedeemUntil)
				}
				if i > 0 && !k.CreatedAt.Equal(nb.Add(-L)) {
					t.Fatalf("epoch %d created at %v, want %v", k.Epoch, k.CreatedAt, nb.Add(-L))
				}
			}
			if all[0].State != StateRetired || all[1].State != StateRedeemOnly || all[2].State != StateIssuing {
				t.Fatalf("states %s %s %s", all[0].State, all[1].State, all[2].State)
			}
			want := []string{"system key.create key:1", "system key.create key:2", "system key.create key:3"}
			if got := auditActions(t, st); !slices.Equal(got, want) {
				t.Fatalf("audit %q, want %q", got, want)
			}
		})
	}
}

func TestForcedRotationKeepsThreeKeys(t *testing.T) {
	p := DefaultPolicy()
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			st := ts.open(t)
			c := testkit.NewClock(t0)
			m := newTestManager(t, st, randBytes(t, 32), c)
			ctx := context.Background()
			if err := m.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			c.Set(t0.Add(p.IssuePeriod - p.Lead))
			if err := m.Ensure(ctx); err != nil { // epoch 2, pre-published
				t.Fatal(err)
			}
			steps := []struct {
				wantEpoch     int64
				wantPublished []int64
				wantAudit     []string
			}{
				// epoch 2 had not started: the rotation cancels it and it leaves the directory.
				{3, []int64{3, 1}, []string{"admin:alice key.rotate key:3"}},
				{4, []int64{4, 3, 1}, []string{"admin:alice key.rotate key:4"}},
				// a fourth published key pushes epoch 1 out.
				{5, []int64{5, 4, 3}, []string{"admin:alice key.rotate key:5", "admin:alice key.retire key:1"}},
			}
			actx := WithActor(ctx, "admin:alice")
			at := c.Now()
			for _, s := range steps {
				at = at.Add(time.Hour)
				c.Set(at)
				before := len(auditActions(t, st))
				ki, err := m.Rotate(actx)
				if err != nil {
					t.Fatal(err)
				}
				if ki.Epoch != s.wantEpoch || ki.State != StateIssuing || !ki.NotBefore.Equal(at) || !ki.IssueUntil.Equal(at.Add(p.IssuePeriod)) {
					t.Fatalf("Rotate = %+v", ki)
				}
				pub := m.Published(at)
				if !slices.Equal(epochs(pub), s.wantPublished) {
					t.Fatalf("after rotating to %d: published %v, want %v", s.wantEpoch, epochs(pub), s.wantPublished)
				}
				checkSigner(t, m, pub, s.wantEpoch)
				if got := auditActions(t, st)[before:]; !slices.Equal(got, s.wantAudit) {
					t.Fatalf("audit %q, want %q", got, s.wantAudit)
				}
				if err := m.Ensure(ctx); err != nil { // nothing to do right after a rotation
					t.Fatal(err)
				}
			}
			evs, _ := st.ListAudit(ctx, 10)
			var rotate3 string
			for _, e := range evs {
				if e.Action == "key.rotate" && e.Subject == "key:3" {
					rotate3 = e.Detail
				}
			}
			if !strings.Contains(rotate3, "signing ended now for epochs 1,2") {
				t.Fatalf("rotation audit detail %q does not name the ended epochs", rotate3)
			}
			all, err := m.List(ctx)
			if err != nil || len(all) != 5 {
				t.Fatalf("List = %d keys, %v", len(all), err)
			}
			if k := all[0]; k.State != StateRetired || !k.PushedOut || !k.RedeemUntil.Equal(at) {
				t.Fatalf("epoch 1 after the push: %s pushed=%v until %v", k.State, k.PushedOut, k.RedeemUntil)
			}
			if k := all[1]; k.State != StateRetired || k.PushedOut || !k.Cancelled {
				t.Fatalf("cancelled epoch 2: %s pushed=%v cancelled=%v", k.State, k.PushedOut, k.Cancelled)
			}
			// Long after everything expired, Ensure starts over from now.
			late := at.Add(10 * p.IssuePeriod)
			c.Set(late)
			if err := m.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			pub := m.Published(late)
			if len(pub) != 1 || pub[0].Epoch != 6 || !pub[0].NotBefore.Equal(late) {
				t.Fatalf("published after a long outage: %+v", pub)
			}
		})
	}
}

func TestConcurrentEnsureCreatesOneKey(t *testing.T) {
	p := DefaultPolicy()
	replicas := map[string]func(t *testing.T) (Store, Store){
		"postgres two pools": func(t *testing.T) (Store, Store) {
			url := testdb.New(t)
			return openPostgres(t, url), openPostgres(t, url)
		},
		"sqlite one store": func(t *testing.T) (Store, Store) {
			st := testStores[0].open(t)
			return st, st
		},
	}
	for name, open := range replicas {
		t.Run(name, func(t *testing.T) {
			a, b := open(t)
			kek := randBytes(t, 32)
			c := testkit.NewClock(t0)
			ms := []*Manager{newTestManager(t, a, kek, c), newTestManager(t, b, kek, c)}
			for round, at := range []time.Time{t0, t0.Add(p.IssuePeriod - p.Lead), t0.Add(2*p.IssuePeriod - p.Lead)} {
				c.Set(at)
				var wg sync.WaitGroup
				start := make(chan struct{})
				errs := make([]error, len(ms))
				for i, m := range ms {
					wg.Go(func() {
						<-start
						errs[i] = m.Ensure(context.Background())
					})
				}
				close(start)
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatalf("round %d: Ensure: %v", round, err)
					}
				}
				ks, err := a.ListKeys(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if len(ks) != round+1 {
					t.Fatalf("round %d: %d keys, want %d", round, len(ks), round+1)
				}
				for _, m := range ms {
					if err := m.Reload(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				if pa, pb := epochs(ms[0].Published(at)), epochs(ms[1].Published(at)); !slices.Equal(pa, pb) {
					t.Fatalf("round %d: replicas publish %v and %v", round, pa, pb)
				}
			}
		})
	}
}

func TestTruncatedIDCollisionRegenerates(t *testing.T) {
	a, b := mustKey(t), mustKey(t)
	for protocol.KeyID(protocol.MarshalPublicKey(&b.PublicKey))[31] == protocol.KeyID(protocol.MarshalPublicKey(&a.PublicKey))[31] {
		b = mustKey(t)
	}
	st := testStores[0].open(t)
	c := testkit.NewClock(t0)
	m := newTestManager(t, st, randBytes(t, 32), c)
	seq := []*rsa.PrivateKey{a, a, b}
	calls := 0
	m.generate = func() (*rsa.PrivateKey, error) {
		k := seq[min(calls, len(seq)-1)]
		calls++
		return k, nil
	}
	ctx := context.Background()
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	c.Set(t0.Add(DefaultPolicy().IssuePeriod - DefaultPolicy().Lead))
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	pub := m.Published(c.Now())
	if calls != 3 || len(pub) != 2 || pub[0].TruncatedID() == pub[1].TruncatedID() {
		t.Fatalf("%d generations, published %v", calls, epochs(pub))
	}

	// A generator that only ever collides makes Ensure fail, not loop.
	m.generate = func() (*rsa.PrivateKey, error) { return b, nil }
	c.Set(t0.Add(2*DefaultPolicy().IssuePeriod - DefaultPolicy().Lead))
	if err := m.Ensure(ctx); err == nil || !strings.Contains(err.Error(), "truncated key id") {
		t.Fatalf("Ensure with colliding keys only: %v", err)
	}
}

func mustKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealedAtRest(t *testing.T) {
	st := testStores[0].open(t)
	c := testkit.NewClock(t0)
	kek := randBytes(t, 32)
	m := newTestManager(t, st, kek, c)
	ctx := context.Background()
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	ks, err := st.ListKeys(ctx)
	if err != nil || len(ks) != 1 {
		t.Fatalf("ListKeys = %d, %v", len(ks), err)
	}
	pkcs8, err := Open(kek, ks[0].ID, ks[0].SealedPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := parsePrivateKey(pkcs8)
	if err != nil {
		t.Fatal(err)
	}
	if spki := protocol.MarshalPublicKey(&sk.PublicKey); string(spki) != string(ks[0].PublicKey) {
		t.Fatal("sealed private key does not match the public key")
	}
	if strings.Contains(string(ks[0].SealedPrivateKey), string(pkcs8[len(pkcs8)-64:])) {
		t.Fatal("stored key holds plaintext")
	}

	// Another operator key cannot open it: the replica refuses to start.
	other := newTestManager(t, st, randBytes(t, 32), c)
	if err := other.Reload(ctx); !errors.Is(err, ErrSealed) {
		t.Fatalf("Reload with the wrong operator key = %v, want ErrSealed", err)
	}
	if err := other.Ensure(ctx); !errors.Is(err, ErrSealed) {
		t.Fatalf("Ensure with the wrong operator key = %v, want ErrSealed", err)
	}
}

func TestReplicaSeesRotationAfterReload(t *testing.T) {
	st := testStores[0].open(t)
	c := testkit.NewClock(t0)
	kek := randBytes(t, 32)
	a, b := newTestManager(t, st, kek, c), newTestManager(t, st, kek, c)
	ctx := context.Background()
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	c.Set(t0.Add(time.Minute))
	ki, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Signer(ki.TruncatedID()); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("stale replica Signer = %v, want ErrUnknownKey", err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, id, err := b.Signer(ki.TruncatedID()); err != nil || id != ki.ID {
		t.Fatalf("Signer after Reload = %x, %v", id, err)
	}
	if got := auditActions(t, st); !slices.Equal(got, []string{"system key.create key:1", "system key.rotate key:2"}) {
		t.Fatalf("audit %q", got)
	}
}

func TestNewManagerValidates(t *testing.T) {
	st := testStores[0].open(t)
	tests := []struct {
		name    string
		kek     []byte
		p       Policy
		wantErr string
	}{
		{"short operator key", make([]byte, 16), Policy{}, "32 bytes"},
		{"grace too long", make([]byte, 32), Policy{IssuePeriod: time.Hour, Lead: time.Minute, RedeemGrace: 2 * time.Hour}, "RedeemGrace"},
		{"lead too long", make([]byte, 32), Policy{IssuePeriod: time.Hour, Lead: time.Hour, RedeemGrace: time.Hour}, "Lead"},
		{"defaults", make([]byte, 32), Policy{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewManager(st, tc.kek, tc.p, nil, nil)
			if tc.wantErr == "" {
				if err != nil || m.Policy() != DefaultPolicy() {
					t.Fatalf("NewManager = %v, policy %+v", err, m.Policy())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewManager error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRunAndNextWait(t *testing.T) {
	st := testStores[0].open(t)
	c := testkit.NewClock(t0)
	m := newTestManager(t, st, randBytes(t, 32), c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(m.Published(t0)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run made no key")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}

	next := m.NextRotation()
	tests := []struct {
		name string
		at   time.Time
		want time.Duration
	}{
		{"far from any boundary", t0.Add(time.Hour), RunInterval},
		{"rotation in 10s", next.Add(-10 * time.Second), 10 * time.Second},
		{"rotation now", next, RunInterval},
		{"boundary in 100ms", next.Add(-100 * time.Millisecond), minRunWait},
	}
	for _, tc := range tests {
		c.Set(tc.at)
		if got := m.nextWait(); got != tc.want {
			t.Errorf("%s: nextWait = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRotationInTheFirstSecondKeepsTheKey: the clock has whole seconds, so a
// key that starts and is rotated within one second may have signed tokens:
// it must stay redeemable, not be treated as a cancelled pre-published key.
func TestRotationInTheFirstSecondKeepsTheKey(t *testing.T) {
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			st := ts.open(t)
			c := testkit.NewClock(t0)
			m := newTestManager(t, st, randBytes(t, 32), c)
			ctx := context.Background()
			if err := m.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			c.Set(t0.Add(400 * time.Millisecond))
			if _, err := m.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			ks, err := m.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) != 2 || ks[0].State != StateRedeemOnly || ks[0].Cancelled || !ks[0].RedeemUntil.After(t0.Add(time.Hour)) {
				t.Fatalf("first key after a rotation in its first second: %+v", ks[0])
			}
			if got := epochs(m.Published(c.Now())); !slices.Contains(got, 1) {
				t.Fatalf("published epochs %v: epoch 1 left the directory", got)
			}
		})
	}
}

// noPrivateKeys fails the test when anything lists keys with their sealed
// private parts.
type noPrivateKeys struct {
	Store
	t *testing.T
}

func (s noPrivateKeys) ListKeys(context.Context) ([]store.Key, error) {
	s.t.Error("a PublicOnly manager read sealed private keys")
	return nil, errors.New("permission denied for column sealed_private_key")
}

func TestPublicOnlyManagerNeverReadsPrivateKeys(t *testing.T) {
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			st := ts.open(t)
			c := testkit.NewClock(t0)
			kek := randBytes(t, 32)
			issuing := newTestManager(t, st, kek, c)
			ctx := context.Background()
			if err := issuing.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			console, err := NewManager(noPrivateKeys{st, t}, kek, DefaultPolicy(), slog.New(slog.DiscardHandler), c.Now, PublicOnly())
			if err != nil {
				t.Fatal(err)
			}
			if err := console.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			pub := console.Published(c.Now())
			if len(pub) != 1 || pub[0].Epoch != 1 {
				t.Fatalf("published %v", epochs(pub))
			}
			if _, _, err := console.Signer(pub[0].TruncatedID()); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("a PublicOnly manager signs: %v", err)
			}
			c.Set(t0.Add(time.Hour))
			ki, err := console.Rotate(WithActor(ctx, "admin:alice"))
			if err != nil {
				t.Fatal(err)
			}
			// The issuing replica picks the new key up and can sign with it:
			// the console sealed it with the operator key.
			if err := issuing.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			checkSigner(t, issuing, issuing.Published(c.Now()), ki.Epoch)
		})
	}
}
