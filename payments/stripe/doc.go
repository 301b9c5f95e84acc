// Package stripe is the Stripe payment provider of the issuer: Checkout
// Sessions for packs (mode payment) and subscriptions (mode subscription),
// signed webhooks that move an order's credit, and a poll of the Checkout
// Session for buyers whose webhook is late.
//
// What Stripe gets from Blindpass is the order id (client_reference_id and
// the PaymentIntent or subscription metadata), the plan's Stripe Price and
// the success and cancel URLs. Never the order secret or its hash, a key
// id, a blinded message or a token, nor anything about the buyer's
// connection (the buyer talks to Stripe directly).
//
// Each webhook event is applied exactly once: its id is recorded in the
// same transaction as its effect (store.PaymentStore). Effects are written
// so that any order of delivery ends in the same ledger: a pack is paid only
// from pending, refunded is final, an invoice credits once, a subscription
// that ended credits no later invoice.
package stripe
