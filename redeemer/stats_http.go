package redeemer

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/internal/store"
)

// StatsPath serves the aggregate counters to the admin console.
const StatsPath = "/internal/stats"

// Limits of GET /internal/stats.
const (
	minStatsToken      = 32 // characters of Config.StatsToken
	defaultStatsWindow = 31 * 24 * time.Hour
	maxStatsWindow     = 400 * 24 * time.Hour
)

// ErrStatsAuth answers a request to /internal/stats without the right token.
var ErrStatsAuth = problem.Define(problem.Unauthorized, "stats-token", "a valid bearer token is required").
	WithHeader("WWW-Authenticate", `Bearer realm="blindpass-stats"`)

// StatsRow is one hour and key of the redeemer's counters as
// GET /internal/stats returns it. KeyID is the base64url (no padding)
// token_key_id, empty for refusals that named no current key.
type StatsRow struct {
	Hour        time.Time `json:"hour"`
	KeyID       string    `json:"key_id"`
	Redeemed    int64     `json:"redeemed"`
	Undone      int64     `json:"undone"` // of those, spends given back after an upstream failure
	Replayed    int64     `json:"replayed"`
	DoubleSpent int64     `json:"double_spend"`
	Invalid     int64     `json:"invalid"`
	Expired     int64     `json:"expired"`
	UnknownKey  int64     `json:"unknown_key"`
}

// StatsResponse is the body of GET /internal/stats.
type StatsResponse struct {
	Since time.Time  `json:"since"`
	Stats []StatsRow `json:"stats"`
}

// statsHandler serves GET /internal/stats?since=<RFC 3339>: the counters of
// every replica from since (default 31 days ago, at most 400) on, after
// writing this replica's pending ones. Bearer Config.StatsToken.
func (r *Redeemer) statsHandler(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if !r.statsAuthorized(c.Request()) {
		return ErrStatsAuth
	}
	now := r.now().UTC()
	since := now.Add(-defaultStatsWindow)
	if v := c.QueryParam("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return problem.New(problem.Malformed, "bad-since", "since must be an RFC 3339 time")
		}
		since = t.UTC()
	}
	if since.Before(now.Add(-maxStatsWindow)) {
		since = now.Add(-maxStatsWindow)
	}
	ctx := c.Request().Context()
	if r.stats.sink == nil {
		return problem.New(problem.Unavailable, "stats-unavailable", "this redeemer's store keeps no statistics")
	}
	if err := r.FlushStats(ctx); err != nil {
		r.logger.LogAttrs(ctx, slog.LevelWarn, "redeemer statistics not written before reading", slog.String("error", err.Error()))
	}
	rows, err := r.stats.sink.ListRedeemerStats(ctx, store.HourOf(since))
	if err != nil {
		if errors.Is(err, store.ErrUnavailable) {
			return storeError("list stats", err)
		}
		return err
	}
	out := StatsResponse{Since: store.HourOf(since), Stats: make([]StatsRow, len(rows))}
	for i, s := range rows {
		out.Stats[i] = StatsRow{Hour: s.Hour, KeyID: base64.RawURLEncoding.EncodeToString(s.KeyID),
			Redeemed: s.Redeemed, Undone: s.Undone, Replayed: s.Replayed, DoubleSpent: s.DoubleSpent,
			Invalid: s.Invalid, Expired: s.Expired, UnknownKey: s.UnknownKey}
	}
	return c.JSON(http.StatusOK, out)
}

// statsAuthorized compares the bearer token in constant time (over hashes,
// so that not even its length leaks).
func (r *Redeemer) statsAuthorized(req *http.Request) bool {
	scheme, token, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	want := sha256.Sum256([]byte(r.cfg.StatsToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
