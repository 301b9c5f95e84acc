package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/blindpass/blindpass/issuer/keys"
)

// KeySource is what the key metrics read; *keys.Manager implements it. Both
// methods read memory only, so a scrape never touches the database.
type KeySource interface {
	Published(t time.Time) []keys.KeyInfo
	NextRotation() time.Time
}

// keyCollector reports the issuer's published key epochs at scrape time.
type keyCollector struct {
	src      KeySource
	now      func() time.Time
	epoch    *prometheus.Desc
	count    *prometheus.Desc
	rotation *prometheus.Desc
	issueEnd *prometheus.Desc
}

// NewKeyCollector returns a collector of the issuer's key epochs: the newest
// epoch in each state, the number of published keys, and the seconds to the
// next automatic rotation. now is the clock.
func NewKeyCollector(src KeySource, now func() time.Time) prometheus.Collector {
	return &keyCollector{
		src: src,
		now: now,
		epoch: prometheus.NewDesc("blindpass_issuer_key_epoch",
			"Newest published key epoch in each state (pending, issuing, redeem-only).", []string{"state"}, nil),
		count: prometheus.NewDesc("blindpass_issuer_published_keys",
			"Keys in the issuer directory (never more than 3).", nil, nil),
		rotation: prometheus.NewDesc("blindpass_issuer_key_rotation_seconds",
			"Seconds until the next automatic key rotation; negative when overdue.", nil, nil),
		issueEnd: prometheus.NewDesc("blindpass_issuer_key_issuing_remaining_seconds",
			"Seconds until the issuing key stops signing; absent when no key signs.", nil, nil),
	}
}

func (c *keyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.epoch
	ch <- c.count
	ch <- c.rotation
	ch <- c.issueEnd
}

func (c *keyCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	published := c.src.Published(now)
	newest := map[keys.State]int64{}
	var issueEnd time.Time
	for _, k := range published {
		if e, ok := newest[k.State]; !ok || k.Epoch > e {
			newest[k.State] = k.Epoch
		}
		if k.State == keys.StateIssuing && k.IssueUntil.After(issueEnd) {
			issueEnd = k.IssueUntil
		}
	}
	for state, epoch := range newest {
		ch <- prometheus.MustNewConstMetric(c.epoch, prometheus.GaugeValue, float64(epoch), string(state))
	}
	ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(len(published)))
	if next := c.src.NextRotation(); !next.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.rotation, prometheus.GaugeValue, next.Sub(now).Seconds())
	}
	if !issueEnd.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.issueEnd, prometheus.GaugeValue, issueEnd.Sub(now).Seconds())
	}
}
