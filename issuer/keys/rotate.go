package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/blindpass/blindpass/internal/store"
)

// maxConflicts bounds how often Ensure and Rotate reload and retry after
// another replica wrote a key at the same time.
const maxConflicts = 5

// Ensure brings the schedule up to date: when no key signs now it creates
// one that signs from now; when the newest key stops signing within Lead it
// creates the next one, signing from the newest key's issue_until. When
// another replica wrote the same epoch first (store.ErrConflict) it reloads
// and re-checks instead of failing. Ensure also reloads the in-memory view.
func (m *Manager) Ensure(ctx context.Context) error {
	m.op.Lock()
	defer m.op.Unlock()
	for range maxConflicts + 2 {
		if err := m.Reload(ctx); err != nil {
			return err
		}
		now := m.clock()
		ks, ends := m.snapshot()
		var (
			notBefore time.Time
			reason    string
		)
		switch newest, ok := newestKey(ks); {
		case !anyIssues(ks, ends, now):
			notBefore, reason = now, "no key signs now"
		case ok && newest.IssueUntil.Sub(now) <= m.policy.Lead:
			notBefore, reason = newest.IssueUntil, "scheduled rotation"
		default:
			return nil
		}
		_, err := m.create(ctx, notBefore, now, "key.create", reason, false)
		if errors.Is(err, store.ErrConflict) {
			continue // another replica won: reload and re-check
		}
		if err != nil {
			return err
		}
	}
	return errors.New("keys: ensure: the key schedule did not settle; is another replica misconfigured?")
}

// Rotate forces a rotation: a new key signs from now and every key still
// signing stops now (store.KeyStore.RotateKey). When that makes four keys
// published, the oldest leaves the directory (see the package doc). The
// actor is taken from the context (WithActor), "system" by default.
func (m *Manager) Rotate(ctx context.Context) (KeyInfo, error) {
	m.op.Lock()
	defer m.op.Unlock()
	for range maxConflicts {
		if err := m.Reload(ctx); err != nil {
			return KeyInfo{}, err
		}
		now := m.clock()
		ki, err := m.create(ctx, now, now, "key.rotate", "forced rotation", true)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return ki, err
	}
	return KeyInfo{}, fmt.Errorf("keys: rotate: %d conflicting writes from other replicas: %w", maxConflicts, store.ErrConflict)
}

// create generates, stores and audits one key. With rotate it ends the
// signing of the current keys at now in the same transaction.
func (m *Manager) create(ctx context.Context, notBefore, now time.Time, action, reason string, rotate bool) (KeyInfo, error) {
	ks, ends := m.snapshot()
	epoch := int64(1)
	if newest, ok := newestKey(ks); ok {
		epoch = newest.Epoch + 1
	}
	var taken []store.Key
	for _, i := range published(ks, ends, now) {
		taken = append(taken, ks[i])
	}
	k, err := m.newKey(epoch, taken)
	if err != nil {
		return KeyInfo{}, err
	}
	if rotate {
		// Generating the key takes a moment; the old keys stop signing when
		// the new one is stored, not when the rotation began, so that
		// issuers signing meanwhile (Sync) stay inside the old key's window.
		now = m.clock()
		notBefore = now
	}
	m.schedule(&k, notBefore, now)
	if rotate {
		err = m.st.RotateKey(ctx, k, now)
	} else {
		err = m.st.InsertKey(ctx, k)
	}
	if err != nil {
		return KeyInfo{}, fmt.Errorf("keys: store key epoch %d: %w", epoch, err)
	}

	after := append(append([]store.Key(nil), ks...), k)
	if rotate { // what RotateKey did to the older keys
		for i := range ks {
			if after[i].IssueUntil.After(now) {
				after[i].IssueUntil = now
			}
		}
	}
	afterEnds := effectiveEnds(after)
	actor := actorOf(ctx)
	ki := info(after, afterEnds, len(after)-1, now, true)
	detail := fmt.Sprintf("%s; kid=%02x; not_before=%s issue_until=%s redeem_until=%s",
		reason, ki.TruncatedID(), stamp(k.NotBefore), stamp(k.IssueUntil), stamp(k.RedeemUntil))
	if rotate {
		var ended []string
		for _, old := range ks {
			if old.IssueUntil.After(now) {
				ended = append(ended, strconv.FormatInt(old.Epoch, 10))
			}
		}
		if len(ended) > 0 {
			detail += "; signing ended now for epochs " + strings.Join(ended, ",")
		}
	}
	m.audit(ctx, store.AuditEvent{At: now, Actor: actor, Action: action, Subject: epochSubject(epoch), Detail: detail})
	m.log.LogAttrs(ctx, slog.LevelInfo, "token key created", slog.Int64("epoch", epoch),
		slog.String("reason", reason), slog.String("actor", actor), slog.Int("truncated_kid", int(ki.TruncatedID())),
		slog.Time("not_before", k.NotBefore), slog.Time("issue_until", k.IssueUntil))
	for i := range ks {
		// pushed out (a cancelled pre-published key is named in the rotation's detail)
		if afterEnds[i].Equal(now) && ends[i].After(now) && after[i].NotBefore.Before(after[i].IssueUntil) {
			m.audit(ctx, store.AuditEvent{At: now, Actor: actor, Action: "key.retire", Subject: epochSubject(ks[i].Epoch),
				Detail: fmt.Sprintf("left the directory when epoch %d was created (at most 3 published keys); its tokens are no longer accepted", epoch)})
			m.log.LogAttrs(ctx, slog.LevelWarn, "token key pushed out of the directory",
				slog.Int64("epoch", ks[i].Epoch), slog.Int64("by_epoch", epoch))
		}
	}
	if err := m.Reload(ctx); err != nil {
		return ki, err
	}
	return ki, nil
}

// audit writes an event; a failure is logged, not returned: the key exists.
func (m *Manager) audit(ctx context.Context, e store.AuditEvent) {
	if err := m.st.AppendAudit(ctx, e); err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "audit write failed", slog.String("action", e.Action),
			slog.String("subject", e.Subject), slog.String("error", err.Error()))
	}
}

func newestKey(ks []store.Key) (store.Key, bool) {
	if len(ks) == 0 {
		return store.Key{}, false
	}
	return ks[len(ks)-1], true
}

// anyIssues reports whether a published key signs at t.
func anyIssues(ks []store.Key, ends []time.Time, t time.Time) bool {
	for _, i := range published(ks, ends, t) {
		if issues(ks[i], t) {
			return true
		}
	}
	return false
}

func epochSubject(epoch int64) string { return fmt.Sprintf("key:%d", epoch) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
