package postgres

// SpendBatchStats reports how many insert statements the group commit ran
// and how many distinct tokens they carried.
func (s *Store) SpendBatchStats() (flushes, tokens int64) {
	return s.spends.flushes.Load(), s.spends.tokens.Load()
}

// SetSpendFlushers replaces the group commit with one of n flushers (for
// comparing flush policies in one benchmark run). Not safe while spends are
// in flight.
func (s *Store) SetSpendFlushers(n int) {
	s.spends.close()
	s.spends = newSpendBatcher(s, n, spendBatchMax)
}
