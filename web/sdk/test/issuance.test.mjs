import './setup.mjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { genericBatched, publicVerif } from '@cloudflare/privacypass-ts';

import { buildBatch, checkChallengeKey, finalizeBatch, parseDirectory, toBase64URL } from '../dist/index.js';
import { makeIssuer } from './helpers.mjs';

test('a batch is blinded, signed, finalized and every token verified', async () => {
  const iss = await makeIssuer();
  const req = await buildBatch(iss.key, iss.challenge, 4);
  const res = await finalizeBatch(req, await iss.signBatch(req.body), iss.digest);
  assert.equal(res.tokens.length, 4);
  assert.equal(res.bad, 0);
  for (const t of res.tokens) assert.equal(await iss.issuer.verify(t), true);
  const nonces = new Set(res.tokens.map((t) => toBase64URL(t.authInput.nonce)));
  assert.equal(nonces.size, 4, 'fresh nonces');
});

test('a wrong signature, a missing element or another key never yields a token', async () => {
  const iss = await makeIssuer();
  const other = await makeIssuer();
  const req = await buildBatch(iss.key, iss.challenge, 3);
  const good = genericBatched.GenericBatchTokenResponse.deserialize(await iss.signBatch(req.body));
  // Element 0: a damaged signature; element 1: no token; element 2: good.
  const damaged = good.tokenResponses[0].tokenResponse.blindSig.slice();
  damaged[100] ^= 0x40;
  const wrong = new genericBatched.OptionalTokenResponse(2, new publicVerif.TokenResponse(damaged));
  const mixed = new genericBatched.GenericBatchTokenResponse([wrong, new genericBatched.OptionalTokenResponse(2, null), good.tokenResponses[2]]);
  const res = await finalizeBatch(req, mixed.serialize(), iss.digest);
  assert.equal(res.tokens.length, 1);
  assert.equal(res.bad, 1);
  assert.equal(res.missing, 1);

  // Good signatures under another key than the one requested: refused.
  const forOther = await buildBatch(other.key, other.challenge, 1);
  const signedByOther = await other.signBatch(forOther.body);
  const res2 = await finalizeBatch({ ...forOther, key: iss.key }, signedByOther, other.digest);
  assert.equal(res2.tokens.length, 0);
  assert.equal(res2.bad, 1);

  // A short answer is refused whole.
  const short = new genericBatched.GenericBatchTokenResponse(good.tokenResponses.slice(0, 2));
  await assert.rejects(finalizeBatch(req, short.serialize(), iss.digest), /2 responses to 3 requests/);
});

test('directory: more than 3 keys, an issuance URL elsewhere, an unlisted challenge key are refused', async () => {
  const iss = await makeIssuer();
  const entry = { 'token-type': 2, 'token-key': toBase64URL(iss.spki, false) };
  const dir = await parseDirectory('http://127.0.0.1:8700', { 'issuer-request-uri': '/v1/token-request', 'token-keys': [entry] });
  assert.equal(dir.requestURL, 'http://127.0.0.1:8700/v1/token-request');
  assert.equal(dir.keys.length, 1);

  const others = await Promise.all([makeIssuer(), makeIssuer(), makeIssuer()]);
  const four = [entry, ...others.map((o) => ({ 'token-type': 2, 'token-key': toBase64URL(o.spki, false) }))];
  await assert.rejects(parseDirectory('http://127.0.0.1:8700', { 'issuer-request-uri': '/x', 'token-keys': four }),
    (e) => e.code === 'bad_directory' && /4 keys, at most 3/.test(e.message));
  await assert.rejects(parseDirectory('http://127.0.0.1:8700', { 'issuer-request-uri': 'https://evil.example/x', 'token-keys': [entry] }),
    (e) => e.code === 'bad_directory' && /not on the issuer's origin/.test(e.message));
  await assert.rejects(parseDirectory('http://127.0.0.1:8700', { 'issuer-request-uri': '/x', 'token-keys': [entry, entry] }),
    /listed twice/);

  assert.doesNotThrow(() => checkChallengeKey(dir, iss.spki));
  assert.throws(() => checkChallengeKey(dir, others[0].spki), (e) => e.code === 'key_not_listed');
});
