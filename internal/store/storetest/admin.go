package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// AdminBoth is a store with the admin console's and the redeemer
// statistics' methods too, as both implementations are.
type AdminBoth interface {
	Both
	store.AdminAuthStore
	store.AdminOrderStore
	store.OverviewStore
	store.RedeemerStatsStore
}

// RunAdmin runs the admin console's part of the suite (accounts, sessions,
// login tokens, support actions on orders, overview aggregates, redeemer
// counters). open is as for Run.
func RunAdmin(t *testing.T, open func(t *testing.T) AdminBoth) {
	t.Run("AdminUsers", func(t *testing.T) { testAdminUsers(t, open(t)) })
	t.Run("AdminSessions", func(t *testing.T) { testAdminSessions(t, open(t)) })
	t.Run("AdminLoginTokens", func(t *testing.T) { testAdminLoginTokens(t, open(t)) })
	t.Run("AdminOrders", func(t *testing.T) { testAdminOrders(t, open(t)) })
	t.Run("IssuedTokens", func(t *testing.T) { testIssuedTokens(t, open(t)) })
	t.Run("Sales", func(t *testing.T) { testSales(t, open(t)) })
	t.Run("RedeemerStats", func(t *testing.T) { testRedeemerStats(t, open(t)) })
	t.Run("RedeemerStatsConcurrent", func(t *testing.T) { testRedeemerStatsConcurrent(t, open(t)) })
}

func adminUser(name string) store.AdminUser {
	return store.AdminUser{Name: name, PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", CreatedAt: t0, UpdatedAt: t0}
}

func testAdminUsers(t *testing.T, s AdminBoth) {
	ctx := t.Context()
	alice := adminUser("alice")
	if err := s.CreateAdminUser(ctx, alice); err != nil {
		t.Fatalf("CreateAdminUser: %v", err)
	}
	tests := []struct {
		name    string
		u       store.AdminUser
		wantErr error // nil: any error
		ok      bool
	}{
		{"second account", adminUser("bob.smith-2"), nil, true},
		{"no password (dev)", store.AdminUser{Name: "dev", CreatedAt: t0, UpdatedAt: t0}, nil, true},
		{"taken name", alice, store.ErrConflict, false},
		{"empty name", adminUser(""), nil, false},
		{"upper case", adminUser("Alice2"), nil, false},
		{"space", adminUser("al ice"), nil, false},
		{"leading dot", adminUser(".alice"), nil, false},
		{"too long", adminUser(fmt.Sprintf("%065d", 1)), nil, false},
	}
	for _, tt := range tests {
		err := s.CreateAdminUser(ctx, tt.u)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: CreateAdminUser: %v", tt.name, err)
		case !tt.ok && err == nil:
			t.Errorf("%s: CreateAdminUser accepted %q", tt.name, tt.u.Name)
		case !tt.ok && tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("%s: CreateAdminUser = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	got, err := s.GetAdminUser(ctx, "alice")
	if err != nil || got.Name != "alice" || got.PasswordHash != alice.PasswordHash || !got.CreatedAt.Equal(t0) {
		t.Errorf("GetAdminUser(alice) = %+v, %v", got, err)
	}
	if _, err := s.GetAdminUser(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAdminUser(nobody) = %v, want ErrNotFound", err)
	}
	later := t0.Add(time.Hour)
	if err := s.SetAdminPassword(ctx, "alice", "$argon2id$new", later); err != nil {
		t.Fatalf("SetAdminPassword: %v", err)
	}
	if got, _ := s.GetAdminUser(ctx, "alice"); got.PasswordHash != "$argon2id$new" || !got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(t0) {
		t.Errorf("after SetAdminPassword: %+v", got)
	}
	if err := s.SetAdminPassword(ctx, "nobody", "x", later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetAdminPassword(nobody) = %v, want ErrNotFound", err)
	}
}

func hash32(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testAdminSessions(t *testing.T, s AdminBoth) {
	ctx := t.Context()
	if err := s.CreateAdminUser(ctx, adminUser("alice")); err != nil {
		t.Fatal(err)
	}
	session := func(id string, created time.Time) store.AdminSession {
		return store.AdminSession{IDHash: hash32(id), User: "alice", CreatedAt: created, LastSeen: created, ExpiresAt: created.Add(12 * time.Hour)}
	}
	a := session("a", t0)
	if err := s.CreateAdminSession(ctx, a); err != nil {
		t.Fatalf("CreateAdminSession: %v", err)
	}
	if err := s.CreateAdminSession(ctx, a); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateAdminSession(same id) = %v, want ErrConflict", err)
	}
	ghost := session("g", t0)
	ghost.User = "nobody"
	if err := s.CreateAdminSession(ctx, ghost); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateAdminSession(unknown user) = %v, want ErrNotFound", err)
	}
	got, err := s.GetAdminSession(ctx, a.IDHash)
	if err != nil || got.User != "alice" || !got.CreatedAt.Equal(t0) || !got.LastSeen.Equal(t0) || !got.ExpiresAt.Equal(a.ExpiresAt) {
		t.Fatalf("GetAdminSession = %+v, %v", got, err)
	}
	if _, err := s.GetAdminSession(ctx, hash32("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAdminSession(unknown) = %v, want ErrNotFound", err)
	}
	touched := t0.Add(20 * time.Minute)
	if err := s.TouchAdminSession(ctx, a.IDHash, touched); err != nil {
		t.Fatalf("TouchAdminSession: %v", err)
	}
	if got, _ := s.GetAdminSession(ctx, a.IDHash); !got.LastSeen.Equal(touched) {
		t.Errorf("LastSeen after touch = %v, want %v", got.LastSeen, touched)
	}
	if err := s.TouchAdminSession(ctx, hash32("nope"), touched); err != nil {
		t.Errorf("TouchAdminSession(unknown) = %v, want nil", err)
	}

	// Cleanup: b idle since t0, c past its absolute expiry, d fresh.
	b := session("b", t0)
	c := session("c", t0.Add(-13*time.Hour))
	c.LastSeen = t0.Add(25 * time.Minute)
	d := session("d", t0.Add(25*time.Minute))
	for _, x := range []store.AdminSession{b, c, d} {
		if err := s.CreateAdminSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(30 * time.Minute)
	n, err := s.DeleteExpiredAdminSessions(ctx, now, now.Add(-15*time.Minute))
	if err != nil || n != 2 {
		t.Errorf("DeleteExpiredAdminSessions = %d, %v; want 2 (idle b, expired c)", n, err)
	}
	for id, want := range map[string]bool{"a": true, "b": false, "c": false, "d": true} {
		_, err := s.GetAdminSession(ctx, hash32(id))
		if (err == nil) != want {
			t.Errorf("session %s after cleanup: err = %v, want kept=%v", id, err, want)
		}
	}
	if err := s.DeleteAdminSession(ctx, a.IDHash); err != nil {
		t.Fatalf("DeleteAdminSession: %v", err)
	}
	if _, err := s.GetAdminSession(ctx, a.IDHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAdminSession after delete = %v, want ErrNotFound", err)
	}
	if err := s.DeleteAdminSession(ctx, a.IDHash); err != nil {
		t.Errorf("DeleteAdminSession twice = %v, want nil", err)
	}
}

func testAdminLoginTokens(t *testing.T, s AdminBoth) {
	ctx := t.Context()
	if err := s.CreateAdminUser(ctx, store.AdminUser{Name: "dev", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	tok := func(name string, expires time.Time) store.AdminLoginToken {
		return store.AdminLoginToken{Hash: hash32(name), User: "dev", CreatedAt: t0, ExpiresAt: expires}
	}
	for _, x := range []store.AdminLoginToken{tok("once", t0.Add(15*time.Minute)), tok("late", t0.Add(time.Minute))} {
		if err := s.CreateAdminLoginToken(ctx, x); err != nil {
			t.Fatalf("CreateAdminLoginToken: %v", err)
		}
	}
	if err := s.CreateAdminLoginToken(ctx, tok("once", t0)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateAdminLoginToken(same hash) = %v, want ErrConflict", err)
	}
	ghost := tok("ghost", t0.Add(time.Hour))
	ghost.User = "nobody"
	if err := s.CreateAdminLoginToken(ctx, ghost); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateAdminLoginToken(unknown user) = %v, want ErrNotFound", err)
	}
	now := t0.Add(5 * time.Minute)
	steps := []struct {
		name string
		hash []byte
		ok   bool
	}{
		{"valid token", hash32("once"), true},
		{"used twice", hash32("once"), false},
		{"expired", hash32("late"), false},
		{"expired, again", hash32("late"), false},
		{"unknown", hash32("never"), false},
	}
	for _, st := range steps {
		got, err := s.ConsumeAdminLoginToken(ctx, st.hash, now)
		if st.ok && (err != nil || got.User != "dev" || !got.ExpiresAt.Equal(t0.Add(15*time.Minute))) {
			t.Errorf("%s: ConsumeAdminLoginToken = %+v, %v", st.name, got, err)
		}
		if !st.ok && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: ConsumeAdminLoginToken = %v, want ErrNotFound", st.name, err)
		}
	}

	// Many concurrent uses of one token: exactly one wins.
	if err := s.CreateAdminLoginToken(ctx, tok("race", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := s.ConsumeAdminLoginToken(ctx, hash32("race"), now)
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("concurrent ConsumeAdminLoginToken: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent consumers of one token succeeded, want 1", wins.Load())
	}
}

func testAdminOrders(t *testing.T, s AdminBoth) {
	ctx := t.Context()
	paid := paidOrder(t, s, "order-paid", 10)
	if err := s.UpsertPlan(ctx, newPlan("p", 100)); err != nil {
		t.Fatal(err)
	}
	pending := newOrder(t, "order-pending", "p")
	pending.Provider, pending.ProviderRef = "stripe", "cs_test_pending"
	if err := s.CreateOrder(ctx, pending); err != nil {
		t.Fatal(err)
	}
	newer := newOrder(t, "order-newer", "p")
	newer.Provider, newer.ProviderRef, newer.CreatedAt = "stripe", "cs_test_pending", t0.Add(time.Second)
	if err := s.CreateOrder(ctx, newer); err != nil {
		t.Fatal(err)
	}

	// The PaymentIntent of the paid order, as a webhook links it.
	if _, err := s.ApplyPaymentEvent(ctx, store.PaymentEvent{ID: "evt_admin", Provider: "stripe", Type: "x", At: t0},
		func(ctx context.Context, tx store.PaymentTx) (string, string, error) {
			_, err := tx.PutOrderRef(ctx, store.OrderRef{Ref: "pi_test_paid", OrderID: paid.ID, Kind: store.RefPaymentIntent, CreatedAt: t0})
			return "paid", paid.ID, err
		}); err != nil {
		t.Fatal(err)
	}

	got, err := s.AdminGetOrder(ctx, paid.ID)
	if err != nil || got.ID != paid.ID || got.Status != store.OrderPaid || got.CreditsTotal != 10 || got.SecretHash != nil {
		t.Errorf("AdminGetOrder = %+v, %v; want the paid order without its secret hash", got, err)
	}
	if _, err := s.AdminGetOrder(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AdminGetOrder(unknown) = %v, want ErrNotFound", err)
	}
	for ref, want := range map[string]string{"cs_test_pending": "order-newer", "pi_test_paid": "order-paid", "cs_unknown": "", "": ""} {
		o, err := s.FindOrderByProviderRef(ctx, ref)
		if want == "" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("FindOrderByProviderRef(%q) = %+v, %v; want ErrNotFound", ref, o, err)
			}
			continue
		}
		if err != nil || o.ID != want || o.SecretHash != nil {
			t.Errorf("FindOrderByProviderRef(%q) = %+v, %v; want %s without secret hash", ref, o, err, want)
		}
	}

	at := t0.Add(time.Hour)
	audit := func(action string) store.AuditEvent {
		return store.AuditEvent{At: at, Actor: "admin:alice", Action: action, Subject: paid.ID}
	}
	paidOnly, frozenOnly := []string{store.OrderPaid}, []string{store.OrderFrozen}
	steps := []struct {
		name       string
		run        func() (store.Order, error)
		wantErr    error
		wantStatus string
		wantTotal  int64
	}{
		{"freeze", func() (store.Order, error) {
			return s.SetOrderStatus(ctx, paid.ID, paidOnly, store.OrderFrozen, at, audit("order.freeze"))
		}, nil, store.OrderFrozen, 10},
		{"freeze again", func() (store.Order, error) {
			return s.SetOrderStatus(ctx, paid.ID, paidOnly, store.OrderFrozen, at, audit("order.freeze"))
		}, store.ErrOrderState, store.OrderFrozen, 10},
		{"grant while frozen", func() (store.Order, error) { return s.GrantCredit(ctx, paid.ID, 5, at, audit("order.grant")) },
			nil, store.OrderFrozen, 15},
		{"unfreeze", func() (store.Order, error) {
			return s.SetOrderStatus(ctx, paid.ID, frozenOnly, store.OrderPaid, at, audit("order.unfreeze"))
		}, nil, store.OrderPaid, 15},
		{"grant", func() (store.Order, error) { return s.GrantCredit(ctx, paid.ID, 1, at, audit("order.grant")) },
			nil, store.OrderPaid, 16},
		{"grant zero", func() (store.Order, error) { return s.GrantCredit(ctx, paid.ID, 0, at, audit("order.grant")) },
			errAny, store.OrderPaid, 16},
		{"grant negative", func() (store.Order, error) { return s.GrantCredit(ctx, paid.ID, -3, at, audit("order.grant")) },
			errAny, store.OrderPaid, 16},
	}
	for _, st := range steps {
		o, err := st.run()
		switch {
		case st.wantErr == nil && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.wantErr == errAny && err == nil, st.wantErr != nil && st.wantErr != errAny && !errors.Is(err, st.wantErr):
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		case err == nil && (o.Status != st.wantStatus || o.CreditsTotal != st.wantTotal || o.SecretHash != nil):
			t.Errorf("%s: returned %+v", st.name, o)
		}
		now := mustOrder(t, s, paid.ID)
		if now.Status != st.wantStatus || now.CreditsTotal != st.wantTotal {
			t.Errorf("%s: stored status %s total %d, want %s %d", st.name, now.Status, now.CreditsTotal, st.wantStatus, st.wantTotal)
		}
	}
	if _, err := s.GrantCredit(ctx, pending.ID, 5, at, audit("order.grant")); !errors.Is(err, store.ErrOrderState) {
		t.Errorf("GrantCredit(pending) = %v, want ErrOrderState", err)
	}
	if _, err := s.SetOrderStatus(ctx, "nope", paidOnly, store.OrderFrozen, at, audit("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetOrderStatus(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GrantCredit(ctx, "nope", 1, at, audit("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GrantCredit(unknown) = %v, want ErrNotFound", err)
	}

	// Exactly the successful changes were audited, newest first.
	events, err := s.ListAuditBySubject(ctx, paid.ID, 100)
	if err != nil {
		t.Fatalf("ListAuditBySubject: %v", err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	if want := "order.grant order.unfreeze order.grant order.freeze"; fmt.Sprint(actions) != "["+want+"]" {
		t.Errorf("audit of %s = %v, want [%s]", paid.ID, actions, want)
	}
	if events, _ := s.ListAuditBySubject(ctx, paid.ID, 2); len(events) != 2 {
		t.Errorf("ListAuditBySubject(limit 2) = %d events", len(events))
	}
	if events, err := s.ListAuditBySubject(ctx, pending.ID, 10); err != nil || len(events) != 0 {
		t.Errorf("ListAuditBySubject(untouched order) = %v, %v", events, err)
	}
}

// errAny marks a step that must fail, with any error.
var errAny = errors.New("any error")

// ic is an IssuedCount.
func ic(day time.Time, epoch, tokens int64) store.IssuedCount {
	return store.IssuedCount{Day: day, Epoch: epoch, Tokens: tokens}
}

func testIssuedTokens(t *testing.T, s AdminBoth) {
	ctx := t.Context()
	day := func(d int) time.Time { return time.Date(2026, 3, 1+d, 0, 0, 0, 0, time.UTC) }
	// Epoch 1 issues from day 0 to day 2 12:00, epoch 2 from then on.
	k1 := newKey(t, 1, day(0))
	k1.IssueUntil, k1.RedeemUntil = day(2).Add(12*time.Hour), day(9)
	k2 := newKey(t, 2, k1.IssueUntil)
	for _, k := range []store.Key{k1, k2} {
		if err := s.InsertKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	o := paidOrder(t, s, "order-1", 1000)
	issue := func(n int64, at time.Time) {
		t.Helper()
		sg := &signer{}
		if _, _, err := s.Issue(ctx, o.SecretHash, store.Idempotency{}, at, sg.fn(n, "x")); err != nil {
			t.Fatalf("Issue: %v", err)
		}
	}
	issue(3, day(0).Add(time.Hour))
	issue(4, day(0).Add(23*time.Hour))
	issue(5, day(2).Add(11*time.Hour))
	issue(6, day(2).Add(12*time.Hour)) // the first instant of epoch 2
	issue(7, day(3))
	issue(8, day(0).Add(-time.Hour)) // before any key: epoch 0
	// Other events and a malformed detail count for nothing.
	for _, e := range []store.AuditEvent{
		{At: day(1), Actor: "system", Action: "order.paid", Subject: "order-1", Detail: "99 tokens"},
		{At: day(1), Actor: "order:x", Action: "tokens.issue", Subject: "x", Detail: "many tokens"},
	} {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		since time.Time
		want  []store.IssuedCount
	}{
		{day(-1), []store.IssuedCount{
			ic(day(-1), 0, 8), ic(day(0), 1, 7), ic(day(1), 1, 0), ic(day(2), 1, 5), ic(day(2), 2, 6), ic(day(3), 2, 7),
		}},
		{day(2), []store.IssuedCount{ic(day(2), 1, 5), ic(day(2), 2, 6), ic(day(3), 2, 7)}},
		{day(4), nil},
	}
	for _, tt := range tests {
		got, err := s.IssuedTokens(ctx, tt.since)
		if err != nil {
			t.Fatalf("IssuedTokens: %v", err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("IssuedTokens(since %s) =\n%v\nwant\n%v", tt.since.Format(time.DateOnly), got, tt.want)
		}
	}
}

func testSales(t *testing.T, s AdminBoth) {
	ctx := t.Context()
	day := func(d int) time.Time { return time.Date(2026, 3, 1+d, 0, 0, 0, 0, time.UTC) }
	for _, p := range []store.Plan{
		{ID: "eur5", Name: "5", Kind: store.PlanPack, Tokens: 10, Price: 500, Currency: "eur"},
		{ID: "usd7", Name: "7", Kind: store.PlanPack, Tokens: 10, Price: 700, Currency: "usd"},
	} {
		if err := s.UpsertPlan(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	orders := []struct {
		plan, status, provider string
		at                     time.Time
	}{
		{"eur5", store.OrderPaid, "stripe", day(0).Add(time.Hour)},
		{"eur5", store.OrderPaid, "dev", day(0).Add(23 * time.Hour)},
		{"usd7", store.OrderFrozen, "stripe", day(0).Add(2 * time.Hour)},
		{"eur5", store.OrderPaid, "stripe", day(1)},
		{"eur5", store.OrderPending, "stripe", day(1)},
		{"eur5", store.OrderRefunded, "stripe", day(1)},
		{"eur5", store.OrderExpired, "stripe", day(1)},
		{"eur5", store.OrderPaid, "voucher", day(1)},
		{"eur5", store.OrderPaid, "stripe", day(-1)},
	}
	for i, x := range orders {
		o := newOrder(t, fmt.Sprintf("order-%d", i), x.plan)
		o.Status, o.Provider, o.CreatedAt, o.UpdatedAt = x.status, x.provider, x.at, x.at
		if err := s.CreateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Sales(ctx, day(0))
	if err != nil {
		t.Fatalf("Sales: %v", err)
	}
	want := []store.SalesCount{
		{Day: day(0), Currency: "eur", Orders: 2, Amount: 1000},
		{Day: day(0), Currency: "usd", Orders: 1, Amount: 700},
		{Day: day(1), Currency: "eur", Orders: 1, Amount: 500},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Sales =\n%v\nwant\n%v", got, want)
	}
}

func testRedeemerStats(t *testing.T, s AdminBoth) {
	ctx := t.Context()
	k1, k2 := hash32("key 1"), hash32("key 2")
	h := store.HourOf(t0)
	if got, err := s.ListRedeemerStats(ctx, h.Add(-time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("ListRedeemerStats(empty) = %v, %v", got, err)
	}
	batches := [][]store.RedeemerStat{
		{
			{Hour: t0, KeyID: k1, Redeemed: 3, Replayed: 1},
			{Hour: t0.Add(time.Minute), KeyID: k1, Redeemed: 2, DoubleSpent: 1}, // same hour: merged
			{Hour: t0, KeyID: nil, UnknownKey: 4, Invalid: 1},
			{Hour: t0, KeyID: k2}, // empty: not stored
		},
		{
			{Hour: t0, KeyID: k1, Redeemed: 1, Expired: 2},
			{Hour: t0.Add(time.Hour), KeyID: k2, Redeemed: 7},
		},
		{{Hour: t0, KeyID: k1, Undone: 2}}, // spends given back: counted apart
		{},
	}
	for _, b := range batches {
		if err := s.AddRedeemerStats(ctx, b); err != nil {
			t.Fatalf("AddRedeemerStats: %v", err)
		}
	}
	for _, bad := range [][]store.RedeemerStat{
		{{Hour: t0, KeyID: k1, Redeemed: -1}},
		{{Hour: t0, KeyID: k1, Undone: -1}},
		{{Hour: t0, KeyID: []byte{1, 2, 3}, Redeemed: 1}},
	} {
		if err := s.AddRedeemerStats(ctx, bad); err == nil {
			t.Errorf("AddRedeemerStats(%+v) accepted", bad)
		}
	}
	want := []store.RedeemerStat{
		{Hour: h, KeyID: []byte{}, Invalid: 1, UnknownKey: 4},
		{Hour: h, KeyID: k1, Redeemed: 6, Undone: 2, Replayed: 1, DoubleSpent: 1, Expired: 2},
		{Hour: h.Add(time.Hour), KeyID: k2, Redeemed: 7},
	}
	tests := []struct {
		since time.Time
		want  []store.RedeemerStat
	}{
		{h.Add(-time.Hour), want},
		{h, want},
		{h.Add(time.Minute), want[2:]},
		{h.Add(2 * time.Hour), nil},
	}
	for _, tt := range tests {
		got, err := s.ListRedeemerStats(ctx, tt.since)
		if err != nil {
			t.Fatalf("ListRedeemerStats: %v", err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("ListRedeemerStats(%s) =\n%+v\nwant\n%+v", tt.since, got, tt.want)
		}
		for _, g := range got {
			if g.Hour.Location() != time.UTC {
				t.Errorf("hour %v not in UTC", g.Hour)
			}
		}
	}
}

// Replicas flushing their counters at the same time lose nothing.
func testRedeemerStatsConcurrent(t *testing.T, s AdminBoth) {
	ctx := t.Context()
	keys := [][]byte{hash32("a"), hash32("b"), hash32("c")}
	const writers, rounds = 6, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				var batch []store.RedeemerStat
				for i := range keys { // each writer in its own order
					k := keys[(i+w+r)%len(keys)]
					batch = append(batch, store.RedeemerStat{Hour: t0, KeyID: k, Redeemed: 1},
						store.RedeemerStat{Hour: t0.Add(time.Hour), KeyID: k, Invalid: 2})
				}
				if err := s.AddRedeemerStats(ctx, batch); err != nil {
					t.Errorf("AddRedeemerStats: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.ListRedeemerStats(ctx, store.HourOf(t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2*len(keys) {
		t.Fatalf("%d rows, want %d", len(got), 2*len(keys))
	}
	for _, g := range got {
		if g.Redeemed+g.Invalid/2 != writers*rounds {
			t.Errorf("row %+v: lost counts, want %d per counter", g, writers*rounds)
		}
	}
}
