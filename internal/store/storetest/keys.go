package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

func keysEqual(t *testing.T, got, want store.Key) {
	t.Helper()
	if got.Epoch != want.Epoch || !bytes.Equal(got.ID, want.ID) || !bytes.Equal(got.PublicKey, want.PublicKey) ||
		!bytes.Equal(got.SealedPrivateKey, want.SealedPrivateKey) || !got.NotBefore.Equal(want.NotBefore) ||
		!got.IssueUntil.Equal(want.IssueUntil) || !got.RedeemUntil.Equal(want.RedeemUntil) ||
		!got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("key epoch %d:\n got %+v\nwant %+v", want.Epoch, got, want)
	}
	if got.NotBefore.Location() != time.UTC || got.CreatedAt.Location() != time.UTC {
		t.Errorf("key epoch %d: times not in UTC: %v", want.Epoch, got.NotBefore.Location())
	}
}

func epochs(t *testing.T, s Both) []int64 {
	t.Helper()
	keys, err := s.ListKeys(t.Context())
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	var out []int64
	for _, k := range keys {
		out = append(out, k.Epoch)
	}
	return out
}

func testKeys(t *testing.T, open func(t *testing.T) Both) {
	t.Run("insert and list in epoch order", func(t *testing.T) {
		s := open(t)
		var want []store.Key
		for _, e := range []int64{3, 1, 2} {
			k := newKey(t, e, t0.Add(time.Duration(e)*time.Hour))
			if err := s.InsertKey(t.Context(), k); err != nil {
				t.Fatalf("InsertKey(%d): %v", e, err)
			}
			want = append(want, k)
		}
		got, err := s.ListKeys(t.Context())
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		if len(got) != 3 {
			t.Fatalf("ListKeys: %d keys, want 3", len(got))
		}
		for i, e := range []int64{1, 2, 3} {
			for _, w := range want {
				if w.Epoch == e {
					keysEqual(t, got[i], w)
				}
			}
		}
		public, err := s.ListPublicKeys(t.Context())
		if err != nil {
			t.Fatalf("ListPublicKeys: %v", err)
		}
		if len(public) != len(got) {
			t.Fatalf("ListPublicKeys: %d keys, want %d", len(public), len(got))
		}
		for i, k := range public {
			if k.SealedPrivateKey != nil {
				t.Fatalf("ListPublicKeys returned a sealed private key (epoch %d)", k.Epoch)
			}
			k.SealedPrivateKey = got[i].SealedPrivateKey
			keysEqual(t, k, got[i])
		}
	})

	t.Run("newest epoch", func(t *testing.T) {
		s := open(t)
		newest := func() int64 {
			t.Helper()
			e, err := s.NewestKeyEpoch(t.Context())
			if err != nil {
				t.Fatalf("NewestKeyEpoch: %v", err)
			}
			return e
		}
		if e := newest(); e != 0 {
			t.Fatalf("no keys: newest epoch %d, want 0", e)
		}
		if err := s.InsertKey(t.Context(), newKey(t, 1, t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.RotateKey(t.Context(), newKey(t, 2, t0.Add(time.Hour)), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if e := newest(); e != 2 {
			t.Fatalf("after a rotation: newest epoch %d, want 2", e)
		}
	})

	t.Run("conflict", func(t *testing.T) {
		s := open(t)
		k1 := newKey(t, 1, t0)
		if err := s.InsertKey(t.Context(), k1); err != nil {
			t.Fatal(err)
		}
		sameEpoch := newKey(t, 1, t0)
		sameID := newKey(t, 2, t0)
		sameID.ID = k1.ID
		for name, k := range map[string]store.Key{"same epoch": sameEpoch, "same id": sameID} {
			if err := s.InsertKey(t.Context(), k); !errors.Is(err, store.ErrConflict) {
				t.Errorf("InsertKey(%s) = %v, want ErrConflict", name, err)
			}
			if err := s.RotateKey(t.Context(), k, t0.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
				t.Errorf("RotateKey(%s) = %v, want ErrConflict", name, err)
			}
		}
		keys, err := s.ListKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("after conflicts: %d keys, want 1", len(keys))
		}
		// A refused rotation changes nothing: k1 still issues until its end.
		keysEqual(t, keys[0], k1)
	})

	t.Run("rotate", func(t *testing.T) {
		s := open(t)
		ended := newKey(t, 1, t0.Add(-30*24*time.Hour))  // stopped issuing long ago
		current := newKey(t, 2, t0.Add(-24*time.Hour))   // issuing now
		upcoming := newKey(t, 3, t0.Add(5*24*time.Hour)) // published, not yet issuing
		for _, k := range []store.Key{ended, current, upcoming} {
			if err := s.InsertKey(t.Context(), k); err != nil {
				t.Fatal(err)
			}
		}
		end := t0.Add(time.Hour)
		next := newKey(t, 4, t0)
		if err := s.RotateKey(t.Context(), next, end); err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		keys, err := s.ListKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 4 {
			t.Fatalf("%d keys, want 4", len(keys))
		}
		wantUntil := []time.Time{ended.IssueUntil, end, end, next.IssueUntil}
		for i, k := range keys {
			if !k.IssueUntil.Equal(wantUntil[i]) {
				t.Errorf("epoch %d: IssueUntil %v, want %v", k.Epoch, k.IssueUntil, wantUntil[i])
			}
		}
		current.IssueUntil = end
		keysEqual(t, keys[1], current)
		keysEqual(t, keys[3], next)
	})

	t.Run("delete redeemed before", func(t *testing.T) {
		s := open(t)
		for e := int64(1); e <= 3; e++ {
			k := newKey(t, e, t0)
			k.IssueUntil, k.RedeemUntil = t0, t0.Add(time.Duration(e)*time.Hour)
			if err := s.InsertKey(t.Context(), k); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			before time.Time
			n      int64
			left   []int64
		}{
			{t0, 0, []int64{1, 2, 3}},
			{t0.Add(2 * time.Hour), 2, []int64{3}}, // <= removes epoch 2 too
			{t0.Add(2 * time.Hour), 0, []int64{3}},
			{t0.Add(24 * time.Hour), 1, nil},
		}
		for _, tt := range tests {
			n, err := s.DeleteKeysRedeemedBefore(t.Context(), tt.before)
			if err != nil || n != tt.n {
				t.Fatalf("DeleteKeysRedeemedBefore(%v) = %d, %v; want %d", tt.before, n, err, tt.n)
			}
			if got := epochs(t, s); !slices.Equal(got, tt.left) {
				t.Fatalf("after delete before %v: epochs %v, want %v", tt.before, got, tt.left)
			}
		}
	})
}
