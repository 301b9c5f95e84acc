// Package voucher makes and reads voucher codes: prepaid codes an operator
// sells for cash, through resellers or as gifts. A voucher is the order
// secret of an order that is paid already (provider "voucher"), so a buyer
// uses it exactly like the secret of an order they paid themselves:
// `Authorization: Bearer <code>` on GET /v1/orders/current and on issuance.
//
// # Format
//
// A code is 16 random bytes (128 bits) in Crockford base32 (26 characters,
// the last one carrying 3 bits and 2 zero bits), followed by 2 check
// characters, written as 7 groups of 4 joined by dashes:
//
//	7KQ4-M2ZP-X9TD-0RWE-5HBN-C3VA-8G6F
//
// The alphabet 0123456789ABCDEFGHJKMNPQRSTVWXYZ has no I, L, O or U; when
// reading, case is ignored, I and L are taken as 1 and O as 0, and dashes and
// spaces are ignored. The check characters hold (Σ (i+1)·v[i]) mod 1021 over
// the 26 character values v[0..25] as two 5-bit digits. Because 1021 is
// prime and larger than every weight and every digit difference, any one
// mistyped character and any swap of two neighbouring characters changes
// the sum, so the code is reported as mistyped instead of being taken as an
// unknown voucher; other typos are caught with probability 1020/1021.
//
// # Storage
//
// Only SHA-256 of the 16 bytes is stored, in the orders' secret_hash
// column. Order secrets are 32 bytes and hashed the same way, so the two
// kinds of preimage differ in length and a voucher hash can never be taken
// for a secret's (short of a SHA-256 collision); the dashes and the
// letter case of a code never reach the hash.
package voucher
