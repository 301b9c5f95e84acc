package admin

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/voucher"
)

// auditActions lists the audit log's actions, newest first.
func auditActions(t *testing.T, st Store) []string {
	t.Helper()
	events, err := st.ListAudit(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, e.Actor+" "+e.Action+" "+e.Subject)
	}
	return out
}

func hasAudit(t *testing.T, st Store, entry string) bool {
	t.Helper()
	for _, a := range auditActions(t, st) {
		if strings.HasPrefix(a, entry) {
			return true
		}
	}
	return false
}

func TestPlans(t *testing.T) {
	e := newEnv(t, storeKinds[0].open(t), nil)
	seedPlans(t, e.st)
	b := e.browser(t)
	b.login()
	wantStatus(t, "plans page", b.get("/plans"), http.StatusOK)
	valid := url.Values{"id": {"pro"}, "name": {"Pro pack"}, "kind": {"pack"}, "tokens": {"5000"}, "price": {"19.9"},
		"currency": {"EUR"}, "stripe_price": {"price_123abc"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range valid {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		msg    string
	}{
		{"bad id", with("id", "Pro Pack"), 422, "The id must be"},
		{"no name", with("name", " "), 422, "The name must be"},
		{"bad kind", with("kind", "gift"), 422, "The kind must be"},
		{"zero tokens", with("tokens", "0"), 422, "Tokens must be"},
		{"negative price", with("price", "-1"), 422, "The price must be"},
		{"three decimals", with("price", "1.999"), 422, "The price must be"},
		{"bad currency", with("currency", "EURO"), 422, "The currency must be"},
		{"bad stripe price", with("stripe_price", "prod_1"), 422, "Stripe Price id"},
		{"existing id", with("id", "starter"), 409, "A plan with this id exists"},
		{"valid", valid, 303, ""},
	}
	for _, tt := range tests {
		b.get("/plans")
		r := b.post("/plans", tt.form)
		wantStatus(t, tt.name, r, tt.status)
		if tt.msg != "" && !strings.Contains(r.body, tt.msg) {
			t.Errorf("%s: page lacks %q", tt.name, tt.msg)
		}
	}
	p, err := e.st.GetPlan(t.Context(), "pro")
	if err != nil || p.Price != 1990 || p.Currency != "eur" || p.Tokens != 5000 || p.StripePrice != "price_123abc" || p.Retired {
		t.Fatalf("created plan %+v, %v", p, err)
	}

	// Edit: the id cannot change.
	wantStatus(t, "edit page", b.get("/plans/pro"), http.StatusOK)
	r := b.post("/plans/pro", with("id", "renamed"))
	wantStatus(t, "edit", r, http.StatusSeeOther)
	if _, err := e.st.GetPlan(t.Context(), "renamed"); err == nil {
		t.Error("an edit renamed the plan")
	}
	b.get("/plans/pro")
	wantStatus(t, "bad edit", b.post("/plans/pro", with("price", "x")), 422)
	wantStatus(t, "unknown plan", b.get("/plans/nope"), http.StatusNotFound)

	// Retire and put on sale again.
	b.get("/plans")
	wantStatus(t, "retire", b.post("/plans/pro/retire", nil), http.StatusSeeOther)
	if p, _ := e.st.GetPlan(t.Context(), "pro"); !p.Retired {
		t.Error("plan not retired")
	}
	b.get("/plans")
	wantStatus(t, "unretire", b.post("/plans/pro/unretire", nil), http.StatusSeeOther)
	if p, _ := e.st.GetPlan(t.Context(), "pro"); p.Retired {
		t.Error("plan still retired")
	}
	for _, a := range []string{"admin:alice plan.create plan:pro", "admin:alice plan.update plan:pro", "admin:alice plan.retire plan:pro",
		"admin:alice plan.unretire plan:pro"} {
		if !hasAudit(t, e.st, a) {
			t.Errorf("audit log lacks %q", a)
		}
	}
}

func TestOrders(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil)
			ctx := t.Context()
			seedPlans(t, e.st)
			now := e.clock.Now()
			paid := seedOrder(t, e.st, "ord_paid", "starter", store.OrderPaid, "stripe", "cs_test_paid", now)
			seedOrder(t, e.st, "ord_pending", "starter", store.OrderPending, "stripe", "cs_test_pending", now)
			issue(t, e.st, paid, 10, now)
			// The webhook linked the PaymentIntent to the order.
			if _, err := e.st.ApplyPaymentEvent(ctx, store.PaymentEvent{ID: "evt_1", Provider: "stripe", Type: "checkout.session.completed", At: now},
				func(ctx context.Context, tx store.PaymentTx) (string, string, error) {
					_, err := tx.PutOrderRef(ctx, store.OrderRef{Ref: "pi_test_1", OrderID: paid.ID, Kind: store.RefPaymentIntent, CreatedAt: now})
					return "paid", paid.ID, err
				}); err != nil {
				t.Fatal(err)
			}
			b := e.browser(t)
			b.login()

			lookups := []struct {
				q        string
				location string
			}{
				{"ord_paid", "/orders/ord_paid"},
				{"cs_test_paid", "/orders/ord_paid"},
				{" pi_test_1 ", "/orders/ord_paid"},
				{"cs_test_pending", "/orders/ord_pending"},
				{"cs_nope", ""},
				{"ord_nope", ""},
			}
			for _, l := range lookups {
				r := b.get("/orders?q=" + url.QueryEscape(l.q))
				if l.location == "" {
					wantStatus(t, "lookup "+l.q, r, http.StatusNotFound)
					if !strings.Contains(r.body, "No order matches") {
						t.Errorf("lookup %q: no message", l.q)
					}
					continue
				}
				if r.status != http.StatusSeeOther || r.header.Get("Location") != l.location {
					t.Errorf("lookup %q: %d %s, want %s", l.q, r.status, r.header.Get("Location"), l.location)
				}
			}

			r := b.get("/orders/ord_paid")
			wantStatus(t, "order page", r, http.StatusOK)
			for _, want := range []string{"pi_test_1", "checkout.session.completed", "tokens.issue", "10 tokens", "90</strong> left of 100"} {
				if !strings.Contains(r.body, want) {
					t.Errorf("order page lacks %q", want)
				}
			}
			steps := []struct {
				name   string
				path   string
				form   url.Values
				status int
				after  string // the order's status afterwards
				total  int64
			}{
				{"freeze", "/orders/ord_paid/freeze", url.Values{"reason": {"dispute dp_1"}}, 303, "frozen", 100},
				{"freeze twice", "/orders/ord_paid/freeze", nil, 409, "frozen", 100},
				{"grant while frozen", "/orders/ord_paid/grant", url.Values{"credits": {"5"}, "reason": {"goodwill"}}, 303, "frozen", 105},
				{"unfreeze", "/orders/ord_paid/unfreeze", nil, 303, "paid", 105},
				{"grant zero", "/orders/ord_paid/grant", url.Values{"credits": {"0"}}, 400, "paid", 105},
				{"grant too much", "/orders/ord_paid/grant", url.Values{"credits": {"1000001"}}, 400, "paid", 105},
				{"grant text", "/orders/ord_paid/grant", url.Values{"credits": {"ten"}}, 400, "paid", 105},
				{"grant", "/orders/ord_paid/grant", url.Values{"credits": {"1"}}, 303, "paid", 106},
				{"freeze unknown order", "/orders/ord_nope/freeze", nil, 404, "paid", 106},
			}
			for _, st := range steps {
				b.get("/orders/ord_paid")
				wantStatus(t, st.name, b.post(st.path, st.form), st.status)
				o, err := e.st.AdminGetOrder(ctx, "ord_paid")
				if err != nil || o.Status != st.after || o.CreditsTotal != st.total {
					t.Fatalf("%s: order %+v, %v; want %s with %d", st.name, o, err, st.after, st.total)
				}
			}
			b.get("/orders/ord_pending")
			wantStatus(t, "grant to a pending order", b.post("/orders/ord_pending/grant", url.Values{"credits": {"5"}}), http.StatusConflict)
			wantStatus(t, "freeze a pending order", b.post("/orders/ord_pending/freeze", nil), http.StatusConflict)

			ledger, err := e.st.ListAuditBySubject(ctx, "ord_paid", 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range ledger {
				got = append(got, ev.Actor+" "+ev.Action+" "+ev.Detail)
			}
			want := []string{"admin:alice order.grant 1 credits", "admin:alice order.unfreeze ", "admin:alice order.grant 5 credits; goodwill",
				"admin:alice order.freeze dispute dp_1", "order:ord_paid tokens.issue 10 tokens"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("ledger:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

var batchPath = regexp.MustCompile(`^/vouchers/batch/[A-Za-z0-9_-]+$`)

func TestVouchers(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open(t), nil)
			seedPlans(t, e.st)
			b := e.browser(t)
			b.login()
			wantStatus(t, "vouchers page", b.get("/vouchers"), http.StatusOK)
			for _, bad := range []url.Values{
				{"plan": {"starter"}, "count": {"0"}},
				{"plan": {"starter"}, "count": {"1001"}},
				{"plan": {"old"}, "count": {"1"}},  // retired
				{"plan": {"nope"}, "count": {"1"}}, // unknown
			} {
				b.get("/vouchers")
				wantStatus(t, "bad batch "+bad.Encode(), b.post("/vouchers", bad), http.StatusUnprocessableEntity)
			}
			b.get("/vouchers")
			r := b.post("/vouchers", url.Values{"plan": {"starter"}, "count": {"3"}})
			loc := r.header.Get("Location")
			if r.status != http.StatusSeeOther || !batchPath.MatchString(loc) {
				t.Fatalf("create: %d %s", r.status, loc)
			}
			// Another operator cannot see the codes.
			other := e.browser(t)
			other.login()
			wantStatus(t, "another session", other.get(loc), http.StatusGone)

			r = b.get(loc)
			wantStatus(t, "codes", r, http.StatusOK)
			codes := regexp.MustCompile(`<li><code>([0-9A-Z-]{34})</code></li>`).FindAllStringSubmatch(r.body, -1)
			if len(codes) != 3 {
				t.Fatalf("%d codes shown, want 3", len(codes))
			}
			wantStatus(t, "codes again", b.get(loc), http.StatusGone)

			c := b.get(loc + "/csv")
			wantStatus(t, "csv", c, http.StatusOK)
			if !strings.HasPrefix(c.header.Get("Content-Type"), "text/csv") || !strings.Contains(c.header.Get("Content-Disposition"), "attachment") {
				t.Errorf("csv headers %v", c.header)
			}
			rows, err := csv.NewReader(strings.NewReader(c.body)).ReadAll()
			if err != nil || len(rows) != 4 {
				t.Fatalf("csv %q: %v", c.body, err)
			}
			for i, m := range codes {
				if rows[i+1][0] != m[1] || rows[i+1][1] != "starter" || rows[i+1][2] != "100" {
					t.Errorf("csv row %v, code shown %s", rows[i+1], m[1])
				}
				// Each code is the secret of a paid order.
				h, err := voucher.HashCode(m[1])
				if err != nil {
					t.Fatal(err)
				}
				o, err := e.st.GetOrderBySecretHash(t.Context(), h)
				if err != nil || o.Status != store.OrderPaid || o.CreditsTotal != 100 || o.Provider != store.ProviderVoucher {
					t.Errorf("voucher order %+v, %v", o, err)
				}
			}
			wantStatus(t, "csv again", b.get(loc+"/csv"), http.StatusGone)
			if !hasAudit(t, e.st, "admin:alice voucher.create vb_") {
				t.Error("voucher batch not audited")
			}
			if r := b.get("/vouchers"); !strings.Contains(r.body, "count=3") {
				t.Error("recent batches do not list the batch")
			}

			// Codes not fetched in time are gone.
			b.get("/vouchers")
			r = b.post("/vouchers", url.Values{"plan": {"starter"}, "count": {"1"}})
			e.clock.Advance(batchTTL)
			wantStatus(t, "codes after the time ran out", b.get(r.header.Get("Location")), http.StatusGone)
		})
	}
}

func TestWebhooksAndAuditPages(t *testing.T) {
	e := newEnv(t, storeKinds[0].open(t), nil)
	seedPlans(t, e.st)
	now := e.clock.Now()
	o := seedOrder(t, e.st, "ord_w", "starter", store.OrderPending, "stripe", "cs_w", now)
	for i, typ := range []string{"checkout.session.completed", "charge.refunded"} {
		if _, err := e.st.ApplyPaymentEvent(t.Context(), store.PaymentEvent{ID: "evt_" + typ, Provider: "stripe", Type: typ, At: now.Add(time.Duration(i) * time.Second)},
			func(context.Context, store.PaymentTx) (string, string, error) { return "outcome-" + typ, o.ID, nil }); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browser(t)
	b.login()
	r := b.get("/webhooks")
	wantStatus(t, "webhooks", r, http.StatusOK)
	for _, want := range []string{"evt_checkout.session.completed", "outcome-charge.refunded", `href="/orders/ord_w"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("webhooks page lacks %q", want)
		}
	}
	r = b.get("/audit?action=admin.")
	wantStatus(t, "audit", r, http.StatusOK)
	if !strings.Contains(r.body, "admin.login") || strings.Contains(r.body, "key.create") {
		t.Error("audit filter by action prefix")
	}
	if r := b.get("/audit"); !strings.Contains(r.body, "key.create") {
		t.Error("unfiltered audit log lacks the key creation")
	}
}

func TestAddUser(t *testing.T) {
	e := newEnv(t, storeKinds[0].open(t), nil)
	ctx := t.Context()
	now := e.clock.Now()
	tests := []struct {
		name    string
		user    string
		pw      string
		replace bool
		wantErr error // nil: success
	}{
		{"bad name", "Bob!", testPassword, false, ErrUserName},
		{"weak password", "bob", "short", false, ErrWeakPassword},
		{"new operator", "bob", testPassword, false, nil},
		{"taken", "bob", testPassword, false, ErrUserExists},
		{"new password", "bob", "another good password", true, nil},
		{"replace creates", "carol", testPassword, true, nil},
	}
	for _, tt := range tests {
		err := AddUser(ctx, e.st, tt.user, tt.pw, tt.replace, testParams, "cli", now)
		if err != tt.wantErr && (tt.wantErr == nil || !strings.Contains(err.Error(), tt.wantErr.Error())) {
			t.Errorf("%s: AddUser = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	u, err := e.st.GetAdminUser(ctx, "bob")
	if err != nil || !VerifyPassword("another good password", u.PasswordHash) || VerifyPassword(testPassword, u.PasswordHash) {
		t.Errorf("bob's password was not replaced: %v", err)
	}
	for _, a := range []string{"cli admin.user.add admin:bob", "cli admin.user.password admin:bob", "cli admin.user.add admin:carol"} {
		if !hasAudit(t, e.st, a) {
			t.Errorf("audit log lacks %q", a)
		}
	}
}
