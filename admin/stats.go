package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/redeemer"
)

// StatsSource gives the redeemer's aggregate counters: per hour and key,
// nothing finer. The console never reads the spent-token set.
type StatsSource interface {
	RedeemerStats(ctx context.Context, since time.Time) ([]store.RedeemerStat, error)
}

// StoreStats reads the counters from the redeemer's store directly (dev
// mode, where one process holds both stores).
type StoreStats struct{ Store store.RedeemerStatsStore }

// RedeemerStats implements StatsSource.
func (s StoreStats) RedeemerStats(ctx context.Context, since time.Time) ([]store.RedeemerStat, error) {
	return s.Store.ListRedeemerStats(ctx, since)
}

// RemoteStats reads the counters from a redeemer's GET /internal/stats
// with a bearer token (production, where the console cannot read the
// redeemer's database).
type RemoteStats struct {
	URL    string       // the redeemer's base URL
	Token  string       // redeemer.Config.StatsToken
	Client *http.Client // default: a client with a 10 s timeout
}

// maxStatsBody bounds the answer: a year of hourly rows for a few keys.
const maxStatsBody = 16 << 20

// RedeemerStats implements StatsSource.
func (r RemoteStats) RedeemerStats(ctx context.Context, since time.Time) ([]store.RedeemerStat, error) {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	u := strings.TrimRight(r.URL, "/") + redeemer.StatsPath + "?since=" + url.QueryEscape(since.UTC().Format(time.RFC3339))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("admin: redeemer stats: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin: redeemer stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("admin: redeemer stats: %s answered %s", redactedHost(r.URL), resp.Status)
	}
	var body redeemer.StatsResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStatsBody)).Decode(&body); err != nil {
		return nil, fmt.Errorf("admin: redeemer stats: %w", err)
	}
	out := make([]store.RedeemerStat, 0, len(body.Stats))
	for _, s := range body.Stats {
		id, err := base64.RawURLEncoding.DecodeString(s.KeyID)
		if err != nil || (len(id) != 0 && len(id) != 32) {
			return nil, errors.New("admin: redeemer stats: malformed key id")
		}
		out = append(out, store.RedeemerStat{Hour: s.Hour.UTC(), KeyID: id, Redeemed: s.Redeemed, Undone: s.Undone, Replayed: s.Replayed,
			DoubleSpent: s.DoubleSpent, Invalid: s.Invalid, Expired: s.Expired, UnknownKey: s.UnknownKey})
	}
	return out, nil
}

// redactedHost names a URL in errors without credentials or query.
func redactedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the redeemer"
	}
	return u.Host
}
