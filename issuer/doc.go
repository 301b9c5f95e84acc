// Package issuer is the Privacy Pass issuer role over HTTP: the issuer
// directory, plans, orders and their checkout, and token issuance (single
// and generic batch) against an order's credit.
//
// The issuer knows who paid (an order, its provider reference) but never
// sees an unblinded token. It logs one line per request with the method, the
// route pattern, the status and the duration: no address, no header, no
// order id, no secret.
package issuer
