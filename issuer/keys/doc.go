// Package keys manages the issuer's token keys: RSA-2048 key epochs with a
// schedule (not_before, issue_until, redeem_until), automatic and forced
// rotation, and the sealing of private keys at rest under an operator key.
//
// # Schedule
//
// A key epoch is published in the directory from its creation until its
// redeem_until, signs only inside [not_before, issue_until), and tokens
// under it are accepted until redeem_until = issue_until + RedeemGrace
// (fixed when the key is made). The next key is created Lead before the
// newest key stops issuing, so clients see it in the directory before they
// need it.
//
// # At most three keys
//
// The directory never lists more than protocol.MaxDirectoryKeys keys. When
// creating a key would make four published (only possible after forced
// rotations), the oldest published key leaves the directory at that moment
// and its redemption ends: the redeemer accepts only keys the directory
// lists. This is not stored as an update: it is derived from the stored keys
// (see effectiveEnds), so every replica, and every restart, computes the
// same directory. Each such retirement is written to the audit log.
package keys
