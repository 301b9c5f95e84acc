package postgres

import "time"

// SpendBatchStats reports how many insert statements the group commit ran
// and how many distinct tokens they carried.
func (s *Store) SpendBatchStats() (flushes, tokens int64) {
	return s.spends.flushes.Load(), s.spends.tokens.Load()
}

// SetSpendPolicy replaces the group commit with one of at most maxInFlight
// flushes at once, another starting beside them when the newest has run
// stallAfter (for comparing flush policies in one benchmark run). Not safe
// while spends are in flight.
func (s *Store) SetSpendPolicy(maxInFlight int, stallAfter time.Duration) {
	s.spends.close()
	s.spends = newSpendBatcher(s, maxInFlight, stallAfter, spendBatchMax)
}
