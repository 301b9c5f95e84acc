package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector reports a pgx connection pool's statistics at scrape time.
type poolCollector struct {
	stat  func() *pgxpool.Stat
	descs []poolMetric
}

type poolMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(s *pgxpool.Stat) float64
}

// NewPoolCollector returns a collector of stat (pgxpool.Pool.Stat), labelled
// db=name ("issuer", "redeemer", "admin").
func NewPoolCollector(name string, stat func() *pgxpool.Stat) prometheus.Collector {
	labels := prometheus.Labels{"db": name}
	d := func(n, help string) *prometheus.Desc {
		return prometheus.NewDesc("blindpass_db_pool_"+n, help, nil, labels)
	}
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	return &poolCollector{stat: stat, descs: []poolMetric{
		{d("max_conns", "Largest size of the pool."), gauge, func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) }},
		{d("total_conns", "Connections open (idle, in use or being made)."), gauge, func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) }},
		{d("acquired_conns", "Connections in use."), gauge, func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }},
		{d("idle_conns", "Idle connections."), gauge, func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }},
		{d("constructing_conns", "Connections being made."), gauge, func(s *pgxpool.Stat) float64 { return float64(s.ConstructingConns()) }},
		{d("acquires_total", "Connections acquired from the pool."), counter, func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) }},
		{d("empty_acquires_total", "Acquires that waited because the pool was empty."), counter, func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) }},
		{d("canceled_acquires_total", "Acquires cancelled by their context."), counter, func(s *pgxpool.Stat) float64 { return float64(s.CanceledAcquireCount()) }},
		{d("acquire_wait_seconds_total", "Time spent waiting for a connection."), counter, func(s *pgxpool.Stat) float64 { return s.AcquireDuration().Seconds() }},
		{d("new_conns_total", "Connections opened."), counter, func(s *pgxpool.Stat) float64 { return float64(s.NewConnsCount()) }},
	}}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.descs {
		ch <- m.desc
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	for _, m := range c.descs {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(s))
	}
}
