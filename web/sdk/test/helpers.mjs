// Test helpers: a real blind RSA issuer from privacypass-ts, tokens made by
// the package's own issuance code, and fresh IndexedDB wallets.
import './setup.mjs';
import 'fake-indexeddb/auto';

import { genericBatched, publicVerif, TokenChallenge } from '@cloudflare/privacypass-ts';

import { buildBatch, finalizeBatch, toBase64, Wallet, walletToken } from '../dist/index.js';

let n = 0;
export async function freshWallet() {
  return Wallet.open({ name: `test-wallet-${process.pid}-${n++}` });
}

export async function sha256(b) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', b));
}

/** A type 2 issuer with a fresh RSA-2048 key, its directory key and a challenge. */
export async function makeIssuer(origin = '127.0.0.1:8701', issuerName = '127.0.0.1:8700') {
  const { privateKey, publicKey } = await publicVerif.Issuer.generateKey(publicVerif.BlindRSAMode.PSS,
    { modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) });
  const issuer = new publicVerif.Issuer(publicVerif.BlindRSAMode.PSS, issuerName, privateKey, publicKey);
  const spki = await publicVerif.getPublicKeyBytes(publicKey);
  const key = { id: await sha256(spki), spki, redeemUntil: Math.floor(Date.now() / 1000) + 86400 };
  const challenge = new TokenChallenge(2, issuerName, new Uint8Array(), [origin]);
  const raw = challenge.serialize();
  const digest = await sha256(raw);
  const chal = { challenge, raw, digest, digestB64: toBase64(digest), tokenKey: spki };
  /** Signs a serialized generic batch request like the Go issuer does. */
  async function signBatch(body) {
    const batch = genericBatched.BatchedTokenRequest.deserialize(body);
    const out = [];
    for (const r of batch) out.push(new genericBatched.OptionalTokenResponse(2, await issuer.issue(r.tokenRequest)));
    return new genericBatched.GenericBatchTokenResponse(out).serialize();
  }
  /** n finalized, verified wallet tokens. */
  async function tokens(count) {
    const req = await buildBatch(key, challenge, count);
    const res = await finalizeBatch(req, await signBatch(req.body), digest);
    return res.tokens.map((t) => walletToken(t, key, chal));
  }
  return { issuer, key, spki, challenge, chal, digest, signBatch, tokens };
}
