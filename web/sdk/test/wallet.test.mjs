import './setup.mjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseWalletFile, toBase64 } from '../dist/index.js';
import { freshWallet, makeIssuer } from './helpers.mjs';

test('take hands out each token once, at random, under concurrency', async () => {
  const iss = await makeIssuer();
  const w = await freshWallet();
  const toks = await iss.tokens(12);
  assert.equal(await w.put(toks), 12);
  assert.equal(await w.put(toks), 0, 'no duplicates');
  assert.equal(await w.balance(iss.chal.digestB64), 12);

  // 30 concurrent takes of one token from 12: exactly 12 succeed, all distinct.
  const results = await Promise.all(Array.from({ length: 30 }, () => w.take(1, iss.chal.digestB64, Date.now())));
  const got = results.flatMap((r) => r.tokens.map((t) => t.token));
  assert.equal(got.length, 12);
  assert.equal(new Set(got).size, 12);
  assert.equal(await w.balance(), 0);

  // Not enough: nothing taken.
  await w.put(toks.slice(0, 2));
  const r = await w.take(3, iss.chal.digestB64, Date.now());
  assert.equal(r.tokens.length, 0);
  assert.equal(r.available, 2);
  assert.equal(await w.balance(), 2);
  // Another challenge's digest finds nothing; expired tokens are not handed out.
  assert.equal((await w.take(1, 'AAAA', Date.now())).tokens.length, 0);
  assert.equal((await w.take(1, iss.chal.digestB64, Date.now() + 2 * 86400_000)).tokens.length, 0);
});

test('random draw order: the first token taken varies', async () => {
  const iss = await makeIssuer();
  const toks = await iss.tokens(8);
  const firsts = new Set();
  for (let i = 0; i < 12; i++) {
    const w = await freshWallet();
    await w.put(toks);
    firsts.add((await w.take(1, iss.chal.digestB64, Date.now())).tokens[0].token);
  }
  assert.ok(firsts.size > 1, 'draws are not in insertion order');
});

test('held tokens go out again only with the exact same request, inside the window', async () => {
  const iss = await makeIssuer();
  const w = await freshWallet();
  const toks = await iss.tokens(2);
  await w.hold('POST /a x', toks, Date.now() + 60_000);
  assert.equal(await w.takeHeld('POST /b x'), undefined);
  assert.equal((await w.takeHeld('POST /a x')).length, 2);
  assert.equal(await w.takeHeld('POST /a x'), undefined, 'taken once');
  await w.hold('POST /a x', toks, Date.now() - 1);
  assert.equal(await w.takeHeld('POST /a x'), undefined, 'expired');
  assert.equal(await w.balance(), 0, 'held tokens are never in the balance');
});

test('export and import: the blindpass wallet file format, both ways', async () => {
  const iss = await makeIssuer();
  const a = await freshWallet();
  await a.put(await iss.tokens(3));
  await a.addOrder({ issuer_url: 'http://127.0.0.1:8700', order_id: 'ord_x', secret: 's3cret', plan: 'starter', created: '2026-12-04T10:00:00Z' });
  await a.setSettings({ issuer_url: 'http://127.0.0.1:8700', redeemer_url: 'http://127.0.0.1:8701' });
  const text = await a.exportJSON();
  const file = JSON.parse(text);
  assert.equal(file.version, 1);
  assert.equal(file.tokens.length, 3);
  // []byte fields as standard base64 of the right lengths, as Go writes them.
  assert.equal(Buffer.from(file.tokens[0].token_key_id, 'base64').length, 32);
  assert.equal(Buffer.from(file.tokens[0].challenge_digest, 'base64').length, 32);
  assert.equal(Buffer.from(file.tokens[0].token, 'base64').length, 2 + 32 + 32 + 32 + 256);
  assert.match(file.tokens[0].redeem_until, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(file.tokens[0].origin_info, ['127.0.0.1:8701']);
  assert.equal(file.orders[0].secret, 's3cret');

  const b = await freshWallet();
  assert.deepEqual(await b.importJSON(text), { orders: 1, tokens: 3, challenges: 0, pendingSkipped: 0 });
  assert.deepEqual(await b.importJSON(text), { orders: 0, tokens: 0, challenges: 0, pendingSkipped: 0 }, 'nothing twice');
  assert.equal(await b.balance(iss.chal.digestB64), 3);
});

test('import tolerates fields it does not know (newer Go wallets) and refuses what it cannot use', async () => {
  const iss = await makeIssuer();
  const [t] = await iss.tokens(1);
  const goFile = {
    version: 1,
    orders: [{ issuer_url: 'http://127.0.0.1:8700', order_id: 'ord_1', secret: 'abc', plan: 'starter', created: '2026-12-04T10:00:00.123456789Z', exhausted: true, future_field: { x: 1 } }],
    tokens: [{ ...t, some_new_field: 'x' }],
    settings: { issuer_url: 'http://127.0.0.1:8700', redeemer_url: 'http://127.0.0.1:8701', another: 1 },
    challenges: [{ redeemer: 'http://127.0.0.1:8701', challenge: toBase64(iss.chal.raw), trusted: '2026-12-04T10:00:00Z', future: 1 }],
    pending: [{ issuer_url: 'http://127.0.0.1:8700', idempotency_key: 'k', scheme: 'shake256-seed-v1', seed: 'AAAA', count: 5 }],
    something_newer: { x: [] },
  };
  const w = await freshWallet();
  assert.deepEqual(await w.importJSON(JSON.stringify(goFile)), { orders: 1, tokens: 1, challenges: 1, pendingSkipped: 1 });
  const back = JSON.parse(await w.exportJSON());
  assert.equal(back.tokens[0].some_new_field, undefined);
  assert.equal(back.orders[0].exhausted, true);
  assert.deepEqual(back.challenges, [{ redeemer: 'http://127.0.0.1:8701', challenge: toBase64(iss.chal.raw), trusted: '2026-12-04T10:00:00Z' }]);
  assert.equal(back.pending, undefined, 'the CLI\'s interrupted fetches are never carried along');

  // A remembered challenge is never replaced by an import.
  const other = { ...goFile, challenges: [{ redeemer: 'http://127.0.0.1:8701', challenge: 'AQID', trusted: '2026-12-05T00:00:00Z' }], pending: [] };
  assert.equal((await w.importJSON(JSON.stringify(other))).challenges, 0);
  assert.equal((await w.rememberedChallenge('http://127.0.0.1:8701')).challenge, toBase64(iss.chal.raw));

  assert.throws(() => parseWalletFile(JSON.stringify({ ...goFile, version: 2 })), /version 2 is newer/);
  assert.throws(() => parseWalletFile('age-encryption.org/v1\n-> scrypt ...'), (e) => /--plain/.test(e.hint));
  assert.throws(() => parseWalletFile('{"version":1,"tokens":[{"token":"AA==","token_key_id":"AA==","challenge_digest":"AA=="}]}'), /key id is 1 bytes/);
  assert.throws(() => parseWalletFile('{"version":1,"orders":[{"issuer_url":"x"}]}'), /lacks its issuer URL or secret/);
  assert.throws(() => parseWalletFile('not json'), /not JSON/);
});
