package admin

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/voucher"
)

// MaxVoucherBatch is the most codes one form makes.
const MaxVoucherBatch = 1000

// batchTTL is how long fresh codes wait to be shown and downloaded.
const batchTTL = 10 * time.Minute

// batch is a voucher batch whose codes have not yet been shown or
// downloaded. The codes live only here, in memory, bound to the session
// that made them, until both happened or batchTTL passed.
type batch struct {
	session    string // hash of the session id
	b          voucher.Batch
	plan       store.Plan
	shown      bool
	downloaded bool
	expires    time.Time
}

// batches holds batches by a random download id.
type batches struct {
	mu sync.Mutex
	m  map[string]*batch
}

func newBatches() *batches { return &batches{m: make(map[string]*batch)} }

func (bs *batches) put(b *batch, now time.Time) string {
	_, id := newSecret()
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for k, v := range bs.m {
		if !now.Before(v.expires) {
			delete(bs.m, k)
		}
	}
	bs.m[id] = b
	return id
}

// take runs f on the batch id of session (if live) under the lock, and
// forgets the batch once it was both shown and downloaded.
func (bs *batches) take(id, session string, now time.Time, f func(*batch) bool) (voucher.Batch, store.Plan, bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.m[id]
	if !ok || b.session != session || !now.Before(b.expires) || !f(b) {
		return voucher.Batch{}, store.Plan{}, false
	}
	if b.shown && b.downloaded {
		delete(bs.m, id)
	}
	return b.b, b.plan, true
}

type vouchersData struct {
	Plans   []store.Plan // packs on sale
	Recent  []store.AuditEvent
	Plan    string
	Count   string
	Max     int
	Batch   voucher.Batch
	ForPlan store.Plan
	CSVURL  string
}

// vouchersPage serves GET /vouchers: the batch form and recent batches.
func (s *Server) vouchersPage(c echo.Context) error {
	return s.renderVouchers(c, http.StatusOK, vouchersData{Count: "10"}, "")
}

func (s *Server) renderVouchers(c echo.Context, status int, d vouchersData, msg string) error {
	ctx := c.Request().Context()
	plans, err := s.st.ListPlans(ctx)
	if err != nil {
		return storeError(err)
	}
	for _, p := range plans {
		if !p.Retired && p.Kind == store.PlanPack {
			d.Plans = append(d.Plans, p)
		}
	}
	events, err := s.st.ListAudit(ctx, 1000)
	if err != nil {
		return storeError(err)
	}
	for _, e := range events {
		if e.Action == "voucher.create" && len(d.Recent) < 20 {
			d.Recent = append(d.Recent, e)
		}
	}
	d.Max = MaxVoucherBatch
	return s.renderView(c, status, "vouchers", view{Title: "Vouchers", Error: msg, Data: d})
}

// createVouchers serves POST /vouchers: the batch is stored (hashes only)
// and its codes wait in memory to be shown once (GET /vouchers/batch/:id,
// where this redirects) and downloaded once as CSV.
func (s *Server) createVouchers(c echo.Context) error {
	d := vouchersData{Plan: c.FormValue("plan"), Count: strings.TrimSpace(c.FormValue("count"))}
	n, err := strconv.Atoi(d.Count)
	if err != nil || n < 1 || n > MaxVoucherBatch {
		return s.renderVouchers(c, http.StatusUnprocessableEntity, d, fmt.Sprintf("The count must be a whole number from 1 to %d.", MaxVoucherBatch))
	}
	ctx := c.Request().Context()
	now := s.now().UTC()
	b, err := voucher.Create(ctx, s.st, d.Plan, n, actor(c), now)
	if errors.Is(err, voucher.ErrPlan) {
		return s.renderVouchers(c, http.StatusUnprocessableEntity, d, "Vouchers can be made only for a pack plan that is on sale.")
	}
	if err != nil {
		return storeError(err)
	}
	p, err := s.st.GetPlan(ctx, b.PlanID)
	if err != nil {
		return storeError(err)
	}
	id := s.batches.put(&batch{session: string(sessionOf(c).idHash), b: b, plan: p, expires: now.Add(batchTTL)}, now)
	return c.Redirect(http.StatusSeeOther, "/vouchers/batch/"+id)
}

// voucherBatch serves GET /vouchers/batch/:id: the codes, exactly once.
func (s *Server) voucherBatch(c echo.Context) error {
	id := c.Param("id")
	b, p, ok := s.batches.take(id, string(sessionOf(c).idHash), s.now(), func(b *batch) bool {
		if b.shown {
			return false
		}
		b.shown = true
		return true
	})
	if !ok {
		return ErrNoVouchers
	}
	return s.render(c, http.StatusOK, "batch", "Voucher codes", vouchersData{Batch: b, ForPlan: p,
		CSVURL: "/vouchers/batch/" + id + "/csv"})
}

// voucherCSV serves GET /vouchers/batch/:id/csv: the codes as CSV, exactly once.
func (s *Server) voucherCSV(c echo.Context) error {
	b, p, ok := s.batches.take(c.Param("id"), string(sessionOf(c).idHash), s.now(), func(b *batch) bool {
		if b.downloaded {
			return false
		}
		b.downloaded = true
		return true
	})
	if !ok {
		return ErrNoVouchers
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"code", "plan", "tokens", "batch"})
	for _, code := range b.Codes {
		_ = w.Write([]string{code, p.ID, strconv.FormatInt(p.Tokens, 10), b.ID})
	}
	w.Flush()
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="vouchers-%s.csv"`, b.ID))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
