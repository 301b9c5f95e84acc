package postgres

// SpendBatchStats reports how many insert statements the group commit ran
// and how many distinct tokens they carried.
func (s *Store) SpendBatchStats() (flushes, tokens int64) {
	return s.spends.flushes.Load(), s.spends.tokens.Load()
}
