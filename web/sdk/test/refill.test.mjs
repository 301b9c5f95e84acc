import './setup.mjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { genericBatched } from '@cloudflare/privacypass-ts';

import { BlindpassClient, toBase64URL } from '../dist/index.js';
import { freshWallet, makeIssuer } from './helpers.mjs';

const ISSUER = 'http://127.0.0.1:8700';
const REDEEMER = 'http://127.0.0.1:8701';

// A scripted issuer and redeemer: the issuer signs with privacypass-ts's
// blind RSA issuer and keeps a credit ledger; the test asserts what the
// client sent it.
async function world({ credits = 45, secret = 'order-secret' } = {}) {
  const iss = await makeIssuer();
  const calls = [];
  let remaining = credits;
  const answered = new Map(); // Idempotency-Key → the stored answer, as the Go issuer keeps it
  const fetch = async (url, init = {}) => {
    const u = new URL(url);
    const h = new Headers(init.headers);
    calls.push({ path: u.pathname, method: init.method ?? 'GET', auth: h.get('Authorization'), idem: h.get('Idempotency-Key'),
      type: h.get('Content-Type'), credentials: init.credentials });
    switch (u.pathname) {
      case '/.well-known/private-token-issuer-directory':
        return Response.json({ 'issuer-request-uri': '/v1/token-request',
          'token-keys': [{ 'token-type': 2, 'token-key': toBase64URL(iss.spki, false), 'not-before': 1 }] });
      case '/v1/redeem':
        return new Response(null, { status: 401, headers: { 'WWW-Authenticate': `PrivateToken challenge="${toBase64URL(iss.chal.raw)}", token-key="${toBase64URL(iss.spki)}"` } });
      case '/v1/orders/current':
        if (h.get('Authorization') !== 'Bearer ' + secret) return Response.json({ type: 'x/unknown-order-secret' }, { status: 401 });
        return Response.json({ order_id: 'ord_1', plan: 'starter', status: 'paid', credits_total: credits, credits_issued: credits - remaining, credits_remaining: remaining });
      case '/v1/token-request': {
        const body = new Uint8Array(init.body);
        const idem = h.get('Idempotency-Key');
        if (answered.has(idem)) return new Response(answered.get(idem), { headers: { 'Idempotent-Replayed': 'true' } });
        const n = [...genericBatched.BatchedTokenRequest.deserialize(body)].length;
        if (n > remaining) return Response.json({ type: 'https://blindpass.dev/problems/insufficient-credit' }, { status: 402 });
        remaining -= n;
        const signed = await iss.signBatch(body);
        answered.set(idem, signed);
        return new Response(signed, { headers: { 'Content-Type': 'application/private-token-generic-batch-response' } });
      }
    }
    return new Response('not found', { status: 404 });
  };
  const wallet = await freshWallet();
  await wallet.addOrder({ issuer_url: ISSUER, order_id: 'ord_1', secret, plan: 'starter', created: new Date().toISOString() });
  return { iss, calls, wallet, fetch, remaining: () => remaining };
}

test('fetchTokens: generic batches with progress, the order secret only to the issuer, a fresh Idempotency-Key each', async () => {
  const w = await world({ credits: 45 });
  const client = new BlindpassClient({ issuerURL: ISSUER, redeemerURL: REDEEMER, wallet: w.wallet, fetch: w.fetch, batchSize: 20, refillBelow: 0 });
  const [order] = await w.wallet.orders();
  const progress = [];
  assert.equal(await client.fetchTokens(order, { onProgress: (p) => progress.push(`${p.done}/${p.total}`) }), 45);
  assert.deepEqual(progress, ['20/45', '40/45', '45/45']);
  assert.equal(await client.balance(), 45);
  assert.equal(w.remaining(), 0);

  const issuance = w.calls.filter((c) => c.path === '/v1/token-request');
  assert.equal(issuance.length, 3);
  assert.ok(issuance.every((c) => c.type === 'application/private-token-generic-batch-request' && c.auth === 'Bearer order-secret'));
  assert.equal(new Set(issuance.map((c) => c.idem)).size, 3, 'a fresh Idempotency-Key per batch');
  for (const c of w.calls) {
    assert.equal(c.credentials, 'omit');
    if (c.path === '/v1/redeem' || c.path === '/.well-known/private-token-issuer-directory') assert.equal(c.auth, null, `${c.path} gets no secret`);
  }
});

test('a spend that leaves few tokens schedules a refill after a random delay, of all remaining credit', async () => {
  const w = await world({ credits: 30 });
  const events = [];
  let done;
  const finished = new Promise((r) => { done = r; });
  const client = new BlindpassClient({
    issuerURL: ISSUER, redeemerURL: REDEEMER, wallet: w.wallet, batchSize: 10, refillBelow: 5, refillDelayMs: [50, 150],
    fetch: async (url, init) => (new URL(url).pathname === '/v1/chat/completions'
      ? new Response('{}', { headers: { 'Blindpass-Tokens-Consumed': 'true' } })
      : w.fetch(url, init)),
    onRefill: (e) => {
      events.push(e);
      if (e.stored !== undefined || e.error) done();
    },
  });
  const [order] = await w.wallet.orders();
  assert.equal(await client.fetchTokens(order, { count: 5 }), 5);
  const t0 = Date.now();
  await client.spend('/v1/chat/completions', { method: 'POST', body: '{}' }, { cost: 1 });
  assert.equal(await client.balance(), 4, 'below the refill mark');
  await finished;
  assert.ok(Date.now() - t0 >= 50, 'not at once');
  const end = events.at(-1);
  assert.equal(end.error, undefined, String(end.error));
  assert.equal(end.stored, 25, 'the whole remaining credit');
  assert.equal(await client.balance(), 29);
  assert.ok(events.some((e) => e.progress), 'progress events');
});

test('a batch whose answer was lost is sent again with its Idempotency-Key after a reload: no credit lost', async () => {
  const w = await world({ credits: 30 });
  let lose = true;
  // The issuer signs and moves the credit, but the answer never arrives.
  const lossy = async (url, init) => {
    const resp = await w.fetch(url, init);
    if (lose && new URL(url).pathname === '/v1/token-request') throw new TypeError('network connection lost');
    return resp;
  };
  const first = new BlindpassClient({ issuerURL: ISSUER, redeemerURL: REDEEMER, wallet: w.wallet, fetch: lossy, batchSize: 10, refillBelow: 0 });
  const [order] = await w.wallet.orders();
  await assert.rejects(first.fetchTokens(order), (e) => e.code === 'issuer_unreachable');
  assert.equal(w.remaining(), 20, 'the issuer moved 10 credits');
  assert.equal(await w.wallet.balance(), 0);
  const pending = await w.wallet.pendingBatches();
  assert.equal(pending.length, 1);
  assert.equal(pending[0].elements.length, 10);

  // The page is loaded again: the saved batch is asked for again first.
  lose = false;
  const again = new BlindpassClient({ issuerURL: ISSUER, redeemerURL: REDEEMER, wallet: w.wallet, fetch: w.fetch, batchSize: 10, refillBelow: 0 });
  assert.equal(await again.resumePending(), 10);
  assert.equal(w.remaining(), 20, 'the replay moved no more credit');
  assert.equal((await w.wallet.pendingBatches()).length, 0);
  await again.challenge();
  assert.equal(await again.balance(), 10, 'the recovered tokens verify and are usable');
  assert.equal(await again.refill(), 20, 'then the rest of the credit');
  assert.equal(await again.balance(), 30);
  assert.equal(JSON.parse(await w.wallet.exportJSON()).pending, undefined, 'saved batches never leave the browser');
});
