// Package bench is Blindpass's load driver, the library behind
// `blindpassd bench`. It drives the issuer and the redeemer over HTTP on
// loopback against Postgres, either servers it starts in this process on a
// throwaway database or running ones given by URL, and reports throughput,
// p50/p99 latency, the ratio to the raw crypto operation measured in the same
// run (protocol.BlindSign for issuance, protocol.VerifyToken for
// redemption), and the redeemer's memory.
//
// The phases, each bounded in count and in time:
//
//  1. buy: plans, orders and the dev checkout (the issuer must have dev
//     payments on);
//  2. issuance: 100-token generic batches over HTTP, blinded before and
//     finalized after the timed part, next to raw BlindSign on every core;
//  3. raw VerifyToken on every core;
//  4. redemption at full speed: POST /v1/redeem from many clients;
//  5. redemption at a fixed rate (half the measured maximum unless set),
//     latency counted from each request's scheduled time, so a stalled
//     server is not hidden by a stalled client.
//
// With servers in this process, the tokens redeemed beyond those fetched in
// phase 2 are minted directly with the issuer's private key (crypto/rsa PSS
// with CRT, which yields exactly the signature blind issuance does, several
// times faster than circl's BlindSign): fetching 50,000 tokens over HTTP
// would take minutes on two cores and measure issuance again. Against
// running servers every token is fetched over HTTP.
package bench
