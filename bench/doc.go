// Package bench is Blindpass's load driver, the library behind
// `blindpassd bench`. It drives the issuer and the redeemer over HTTP on
// loopback against Postgres, either servers it starts in this process on a
// throwaway database or running ones given by URL, and reports throughput,
// p50/p99 latency, the ratio to the raw crypto operation measured in the same
// run (the issuer's protocol.Signer for issuance, with circl's BlindSign
// beside it; for redemption protocol.Verifier, prepared once per key as the
// redeemer holds it), and the redeemer's memory. For each redemption phase
// it also says where the time went: the redeemer's handler time (servers in
// this process), GC pauses and CPU, goroutines waiting for a core, and the
// machine's load average.
//
// The phases, each bounded in count and in time:
//
//  1. buy: plans, orders and the dev checkout (the issuer must have dev
//     payments on);
//  2. issuance: 100-token generic batches over HTTP, blinded before and
//     finalized after the timed part, next to the raw signer on every core
//     and circl's BlindSign on one;
//  3. raw VerifyToken (Verifier.Verify) on every core;
//  4. redemption at full speed: POST /v1/redeem from many clients;
//  5. redemption at a fixed rate (half the measured maximum unless set),
//     latency counted from each request's scheduled time, so a stalled
//     server is not hidden by a stalled client.
//
// With servers in this process, the tokens redeemed beyond those fetched in
// phase 2 are minted directly with the issuer's signer (blind, sign and
// finalize without HTTP): fetching 50,000 tokens over HTTP would take
// minutes on two cores and measure issuance again. Against running servers
// every token is fetched over HTTP.
package bench
