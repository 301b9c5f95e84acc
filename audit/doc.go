// Package audit is the linkability audit: it gathers everything an operator
// (or anyone who takes the operator's data) could hold about a Blindpass
// deployment, and hands it to an attacker procedure that tries to join a
// payment or an order to a redemption.
//
// The evidence is split in two sides. The issuer side is what knows who
// paid: the issuer's database, the issuer's logs and metrics, everything
// Stripe was sent and sent back. The redeemer side is what knows which
// requests were made: the redeemer's database, its logs and metrics, and
// everything the premium model provider (the upstream) received. The
// attacker (Attack) looks for:
//
//   - joins: a value of at least 8 bytes found on both sides, as raw
//     bytes, as text, or hex / base64 (standard or URL alphabet, padded or
//     not, any alignment) encoded, whole or as a substring. On the issuer
//     side only buyer-specific values count: those that look random and
//     the whole values of columns whose values all differ (order ids,
//     references, e-mail addresses); on the redeemer side everything
//     counts. Values the same for every buyer (key ids, public keys, the
//     names in the challenge, the deployment's URLs) are excluded;
//   - fine times: a time on the redeemer side (a time-typed column, a time
//     string, or a number that reads as a unix time in s, ms, µs or ns)
//     that is not truncated to the hour;
//   - client identifiers at the upstream: a header outside the gateway's
//     own set, a client's address, User-Agent, cookie or forwarded-for
//     value, the OpenAI "user" member;
//   - exposure: a secret (order secret, voucher code, token, key, password,
//     session id) anywhere it is not allowed, in any encoding, and any
//     client IP address anywhere.
//
// The audit proves the absence of value joins and of fine stored times in
// the data it was given. It does not prove the absence of statistical
// links (timing of fetches against spends, counts per hour): see
// SECURITY.md.
package audit
