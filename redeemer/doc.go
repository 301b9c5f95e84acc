// Package redeemer is the Blindpass redeemer role: it reads the issuer's
// public keys from the RFC 9578 directory, verifies type 0x0002 Privacy Pass
// tokens against them and the configured challenge, and spends each token at
// most once through the spent-token set (store.RedeemerStore).
//
// Other origins redeem through POST /v1/redeem (Register); the premium
// gateway, in the same process, calls TokensFromRequest, Spend and Undo.
//
// Privacy: the redeemer holds no private key, never logs tokens, IPs,
// User-Agents or request bodies, and stores per token only the key id, the
// nonce, a windowed request-binding digest and the hour it was spent.
package redeemer
