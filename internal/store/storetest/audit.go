package storetest

import (
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

func testAudit(t *testing.T, open func(t *testing.T) Both) {
	s := open(t)
	ctx := t.Context()
	if events, err := s.ListAudit(ctx, 10); err != nil || len(events) != 0 {
		t.Fatalf("ListAudit(empty) = %v, %v", events, err)
	}
	// Appended out of time order; two at the same instant.
	in := []store.AuditEvent{
		{At: t0, Actor: "system", Action: "key.rotate", Subject: "epoch 1", Detail: "scheduled"},
		{At: t0.Add(2 * time.Second), Actor: "admin:alice", Action: "plan.update", Subject: "small"},
		{At: t0.Add(time.Second), Actor: "system", Action: "order.paid", Subject: "order-1"},
		{At: t0.Add(2 * time.Second), Actor: "admin:bob", Action: "plan.update", Subject: "big"},
	}
	for _, e := range in {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	tests := []struct {
		limit int
		want  []store.AuditEvent // IDs ignored
	}{
		{10, []store.AuditEvent{in[3], in[1], in[2], in[0]}},
		{2, []store.AuditEvent{in[3], in[1]}},
		{0, nil},
	}
	for _, tt := range tests {
		got, err := s.ListAudit(ctx, tt.limit)
		if err != nil {
			t.Fatalf("ListAudit(%d): %v", tt.limit, err)
		}
		if len(got) != len(tt.want) {
			t.Fatalf("ListAudit(%d): %d events, want %d", tt.limit, len(got), len(tt.want))
		}
		ids := map[int64]bool{}
		for i, g := range got {
			w := tt.want[i]
			if g.ID == 0 || ids[g.ID] {
				t.Errorf("event %d: ID %d not assigned or not unique", i, g.ID)
			}
			ids[g.ID] = true
			if !g.At.Equal(w.At) || g.Actor != w.Actor || g.Action != w.Action || g.Subject != w.Subject || g.Detail != w.Detail {
				t.Errorf("ListAudit(%d)[%d] = %+v, want %+v", tt.limit, i, g, w)
			}
		}
	}
}
