// The spending rules against a scripted redeemer: the test asserts what the
// client sent (which tokens, which request) and what it did with the tokens
// after each kind of answer.
import './setup.mjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Token, TokenChallenge, TOKEN_TYPES } from '@cloudflare/privacypass-ts';

import { BlindpassClient, ChallengeChangedError, fromBase64, NoTokensError, RedeemerUnreachableError, StreamCutError, toBase64, toBase64URL } from '../dist/index.js';
import { freshWallet, makeIssuer } from './helpers.mjs';

const ISSUER = 'http://127.0.0.1:8700';
const REDEEMER = 'http://127.0.0.1:8701';

async function setup(count = 4, iss) {
  iss ??= await makeIssuer();
  const wallet = await freshWallet();
  await wallet.put(await iss.tokens(count));
  const sent = [];
  let answer = () => new Response('{}', { status: 200 });
  let down = false;
  let wwwAuth = `PrivateToken challenge="${toBase64URL(iss.chal.raw)}", token-key="${toBase64URL(iss.spki)}"`;
  const fetch = async (url, init = {}) => {
    if (down) throw new TypeError('Failed to fetch');
    const u = new URL(url);
    if (u.pathname === '/.well-known/private-token-issuer-directory') {
      return Response.json({ 'issuer-request-uri': '/v1/token-request', 'token-keys': [{ 'token-type': 2, 'token-key': toBase64URL(iss.spki, false) }] });
    }
    if (u.pathname === '/v1/redeem') return new Response(null, { status: 401, headers: { 'WWW-Authenticate': wwwAuth } });
    const auth = new Headers(init.headers).get('Authorization');
    // The Blindpass form (README, API): one PrivateToken scheme, one token= parameter per token.
    assert.match(auth, /^PrivateToken token="[A-Za-z0-9_=-]+"(, token="[A-Za-z0-9_=-]+")*$/);
    const tokens = [...auth.matchAll(/token="([^"]+)"/g)].map((m) =>
      toBase64(Token.deserialize(TOKEN_TYPES.BLIND_RSA, fromBase64(m[1])).serialize()));
    sent.push({ url, body: init.body, tokens, credentials: init.credentials });
    return answer(sent.length);
  };
  let clock = Date.now();
  const client = new BlindpassClient({ issuerURL: ISSUER, redeemerURL: REDEEMER, wallet, fetch, refillBelow: 0, now: () => clock });
  return {
    iss, wallet, client, sent,
    advance: (ms) => { clock += ms; },
    answer: (f) => { answer = f; },
    setDown: (d) => { down = d; },
    setChallenge: (raw) => { wwwAuth = `PrivateToken challenge="${toBase64URL(raw)}", token-key="${toBase64URL(iss.spki)}"`; },
  };
}

const body = JSON.stringify({ model: 'blindpass-pro', messages: [{ role: 'user', content: 'hi' }] });
const post = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body };

test('consumed true spends, false gives back, no cookies are sent', async () => {
  const s = await setup(4);
  s.answer(() => new Response('{}', { headers: { 'Blindpass-Tokens-Consumed': 'true' } }));
  const r = await s.client.spend('/v1/chat/completions', post, { cost: 2 });
  assert.equal(r.outcome, 'spent');
  assert.equal(await r.response.text(), '{}', 'the complete answer ends the hold');
  assert.equal((await s.wallet.held()).length, 0);
  assert.equal(s.sent[0].tokens.length, 2);
  assert.equal(s.sent[0].credentials, 'omit');
  assert.equal(await s.client.balance(), 2);

  s.answer(() => Response.json({ error: { message: 'upstream failed', type: 'upstream_failed', code: 'upstream_failed', tokens_consumed: false } },
    { status: 502, headers: { 'Blindpass-Tokens-Consumed': 'false' } }));
  const r2 = await s.client.spend('/v1/chat/completions', post, { cost: 2 });
  assert.equal(r2.outcome, 'returned');
  assert.equal(await s.client.balance(), 2, 'the two tokens are back');

  // The OpenAI body alone (no header) also gives them back.
  s.answer(() => Response.json({ error: { message: 'x', code: 'upstream_busy', tokens_consumed: false } }, { status: 503 }));
  assert.equal((await s.client.spend('/v1/chat/completions', post, { cost: 1 })).outcome, 'returned');
  assert.equal(await s.client.balance(), 2);
});

test('already spent drops the tokens; no tokens gives a typed error', async () => {
  const s = await setup(1);
  s.answer(() => Response.json({ error: { message: 'spent', code: 'token_already_spent', tokens_consumed: true } }, { status: 409 }));
  assert.equal((await s.client.spend('/v1/chat/completions', post, { cost: 1 })).outcome, 'spent');
  await assert.rejects(s.client.spend('/v1/chat/completions', post, { cost: 1 }), (e) => e instanceof NoTokensError && e.need === 1 && e.have === 0 && /Buy/.test(e.hint));
});

test('unknown holds the tokens for the exact same request only', async () => {
  const s = await setup(4);
  s.answer(() => Response.json({ error: { message: 'store failed', code: 'store_unavailable', tokens_consumed: 'unknown' } },
    { status: 503, headers: { 'Blindpass-Tokens-Consumed': 'unknown' } }));
  assert.equal((await s.client.spend('/v1/chat/completions', post, { cost: 2 })).outcome, 'held');
  assert.equal(await s.client.balance(), 2, 'held tokens are out of the balance');

  // Another request gets other tokens.
  s.answer(() => new Response('{}', { headers: { 'Blindpass-Tokens-Consumed': 'true' } }));
  const other = { ...post, body: body.replace('hi', 'something else') };
  await s.client.spend('/v1/chat/completions', other, { cost: 1 });
  assert.equal(s.sent[1].tokens.filter((t) => s.sent[0].tokens.includes(t)).length, 0, 'never with another request');

  // The exact retry sends the same tokens.
  s.answer(() => new Response('{}', { headers: { 'Blindpass-Tokens-Consumed': 'replayed' } }));
  assert.equal((await s.client.spend('/v1/chat/completions', post, { cost: 2 })).outcome, 'replayed');
  assert.deepEqual(s.sent[2].tokens, s.sent[0].tokens);
  assert.equal(await s.client.balance(), 1);
});

test('a redeemer that does not answer: no token leaves, none is lost', async () => {
  const s = await setup(3);
  s.setDown(true);
  await assert.rejects(s.client.spend('/v1/chat/completions', post, { cost: 1 }),
    (e) => e instanceof RedeemerUnreachableError && /No token was spent/.test(e.hint));
  assert.equal(s.sent.length, 0);
  s.setDown(false);
  assert.equal(await s.client.balance(), 3);
});

test('a network error after the tokens left: one exact retry, then held for an exact retry', async () => {
  const s = await setup(3);
  let calls = 0;
  s.answer(() => {
    calls++;
    throw new TypeError('connection reset');
  });
  await assert.rejects(s.client.spend('/v1/chat/completions', post, { cost: 1 }),
    (e) => e instanceof RedeemerUnreachableError && /Retry/.test(e.hint));
  assert.equal(calls, 2, 'retried once');
  assert.deepEqual(s.sent[0].tokens, s.sent[1].tokens);
  assert.equal(await s.client.balance(), 2);
  s.answer(() => new Response('{}', { headers: { 'Blindpass-Tokens-Consumed': 'replayed' } }));
  await s.client.spend('/v1/chat/completions', post, { cost: 1 });
  assert.deepEqual(s.sent[2].tokens, s.sent[0].tokens, 'the retry reuses the held token');
});

test('streaming chat: deltas in order; a cut stream holds the tokens for the exact retry', async () => {
  const s = await setup(3);
  const sse = (parts) => new Response(new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(new TextEncoder().encode(p));
      c.close();
    },
  }), { headers: { 'Content-Type': 'text/event-stream', 'Blindpass-Tokens-Consumed': 'true' } });
  const chunk = (t) => `data: ${JSON.stringify({ choices: [{ delta: { content: t } }] })}\n\n`;
  s.answer(() => sse([chunk('Hel'), chunk('lo'), 'data: [DONE]\n\n']));
  const deltas = [];
  const text = await s.client.chat({ model: 'blindpass-pro', messages: [] }, { cost: 1, onDelta: (d) => deltas.push(d) });
  assert.equal(text, 'Hello');
  assert.deepEqual(deltas, ['Hel', 'lo']);
  assert.equal(await s.client.balance(), 2);

  s.answer(() => sse([chunk('Par'), 'data: {"error":{"message":"the answer was cut off","type":"stream_cut","code":"stream_cut"}}\n\n']));
  const req = { model: 'blindpass-pro', messages: [{ role: 'user', content: 'again' }] };
  await assert.rejects(s.client.chat(req, { cost: 1 }), (e) => e instanceof StreamCutError && /Retry/.test(e.hint));
  assert.equal(await s.client.balance(), 1);
  s.answer(() => sse([chunk('Full'), 'data: [DONE]\n\n']));
  assert.equal(await s.client.chat(req, { cost: 1 }), 'Full');
  assert.deepEqual(s.sent[2].tokens, s.sent[1].tokens, 'the retry of the cut answer reuses its token');
  assert.equal(await s.client.balance(), 1);
});

test('the first challenge is remembered; another one is refused until accepted, with nothing sent', async () => {
  const s = await setup(2);
  s.answer(() => new Response('{}', { headers: { 'Blindpass-Tokens-Consumed': 'true' } }));
  await s.client.spend('/v1/chat/completions', post, { cost: 1 });
  assert.equal((await s.wallet.rememberedChallenge(REDEEMER)).challenge, toBase64(s.iss.chal.raw));

  // The redeemer now hands out another challenge (e.g. one per visitor).
  const tagged = new TokenChallenge(2, '127.0.0.1:8700', new Uint8Array(), ['127.0.0.1:8701', 'tag-42']);
  s.setChallenge(tagged.serialize());
  await assert.rejects(s.client.spend('/v1/chat/completions', post, { cost: 1 }),
    (e) => e instanceof ChallengeChangedError && /Nothing was sent/.test(e.hint) && e.rememberedDigest !== e.offeredDigest);
  assert.equal(s.sent.length, 1, 'no token left');
  assert.equal(await s.client.balance(), 1);
  assert.ok((await s.wallet.rememberedChallenge(REDEEMER)).offered, 'the offered challenge is recorded');
  // Still refused while it is offered, even if the redeemer goes back.
  s.setChallenge(s.iss.chal.raw);
  await assert.rejects(s.client.spend('/v1/chat/completions', post, { cost: 1 }), ChallengeChangedError);

  // Accepting needs the published digest to match.
  s.setChallenge(tagged.serialize());
  await assert.rejects(s.client.trustChallenge('00000000000000000000'), /does not match/);
  const digest = Buffer.from(await crypto.subtle.digest('SHA-256', tagged.serialize())).toString('hex');
  assert.deepEqual(await s.client.trustChallenge(digest.slice(0, 16)), { digest, changed: true });
  // The old tokens are not spent at the new challenge.
  await assert.rejects(s.client.spend('/v1/chat/completions', post, { cost: 1 }), NoTokensError);
});

test('challenges naming another issuer or not this redeemer are unusable', async () => {
  for (const [name, origins, want] of [['evil.example', ['127.0.0.1:8701'], /names issuer "evil.example"/],
    ['127.0.0.1:8700', ['chat.example'], /do not include the redeemer 127.0.0.1:8701/]]) {
    const iss = await makeIssuer(origins[0], name);
    const s = await setup(1, iss);
    await assert.rejects(s.client.challenge(), (e) => e.code === 'bad_challenge' && want.test(e.message));
  }
});

// The rules of the Go client (client/spend.go, client/reserve.go) for tokens
// without a complete answer.

const storeDown = () => Response.json({ error: { message: 'store down', type: 'store_unavailable', code: 'store_unavailable',
  problem_type: 'https://blindpass.dev/problems/store-unavailable', tokens_consumed: false } },
{ status: 503, headers: { 'Blindpass-Tokens-Consumed': 'false', 'Retry-After': '1' } });

test('store-unavailable to fresh tokens gives them back; to tokens an earlier attempt sent, they stay held for that request', async () => {
  const s = await setup(4);
  s.answer(storeDown);
  assert.equal((await s.client.spend('/v1/chat/completions', post, { cost: 1 })).outcome, 'returned', 'never sent before: back');
  assert.equal(await s.client.balance(), 4);

  // The first attempt's outcome is unknown (they may be spent) ...
  s.answer(() => Response.json({ error: { message: 'store failed', code: 'store_unavailable', tokens_consumed: 'unknown' } },
    { status: 503, headers: { 'Blindpass-Tokens-Consumed': 'unknown' } }));
  assert.equal((await s.client.spend('/v1/chat/completions', post, { cost: 2 })).outcome, 'held');
  // ... so the store being down for the retry does not make them good again.
  s.answer(storeDown);
  assert.equal((await s.client.spend('/v1/chat/completions', post, { cost: 2 })).outcome, 'held');
  assert.deepEqual(s.sent[2].tokens, s.sent[1].tokens);
  assert.equal(await s.client.balance(), 2, 'not back in the wallet');
  assert.equal((await s.wallet.held()).length, 1);
  s.answer(() => new Response('{}', { headers: { 'Blindpass-Tokens-Consumed': 'true' } }));
  await (await s.client.spend('/v1/chat/completions', post, { cost: 2 })).response.text();
  assert.deepEqual(s.sent[3].tokens, s.sent[1].tokens, 'the exact retry still carries them');

  // The same inside one spend: a connection broken after the tokens left, then the store is down.
  const s2 = await setup(2);
  s2.answer((n) => {
    if (n === 1) throw new TypeError('connection reset');
    return storeDown();
  });
  assert.equal((await s2.client.spend('/v1/chat/completions', post, { cost: 1 })).outcome, 'held');
  assert.deepEqual(s2.sent[1].tokens, s2.sent[0].tokens);
  assert.equal(await s2.client.balance(), 1);
});

test('an error without the consumed header (a proxy 502) holds the tokens for the exact retry until the replay window ends', async () => {
  const s = await setup(4);
  s.answer(() => new Response('<html>502 Bad Gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } }));
  assert.equal((await s.client.spend('/v1/chat/completions', post, { cost: 2 })).outcome, 'held');
  assert.equal(await s.client.balance(), 2, 'not given back: they may be spent');
  // A 4xx without a verdict too (here problem+json without tokens_consumed).
  s.answer(() => new Response('{"type":"about:blank","title":"Too Many Requests"}', { status: 429, headers: { 'Content-Type': 'application/problem+json' } }));
  const other = { ...post, body: body.replace('hi', 'other') };
  assert.equal((await s.client.spend('/v1/chat/completions', other, { cost: 1 })).outcome, 'held');
  assert.equal(s.sent[1].tokens.filter((t) => s.sent[0].tokens.includes(t)).length, 0, 'never with another request');
  assert.equal(await s.client.balance(), 1);

  // Only an explicit false gives them back (here in a problem+json body, to the exact retry of a held 429).
  s.answer(() => new Response(JSON.stringify({ type: 'https://blindpass.dev/problems/upstream-failed', tokens_consumed: false }),
    { status: 502, headers: { 'Content-Type': 'application/problem+json' } }));
  assert.equal((await s.client.spend('/v1/chat/completions', other, { cost: 1 })).outcome, 'returned');
  assert.deepEqual(s.sent[2].tokens, s.sent[1].tokens, 'the exact retry carried the held token');
  assert.equal(await s.client.balance(), 2);

  // The exact retry of the first request inside the window: the same tokens.
  s.advance(4 * 60_000);
  s.answer(() => new Response('<html>502</html>', { status: 502 }));
  await s.client.spend('/v1/chat/completions', post, { cost: 2 });
  assert.deepEqual(s.sent[3].tokens, s.sent[0].tokens);
  // The window counts from the first send: past 5 min minus the margin they are dropped, not returned.
  s.advance(50_000);
  s.answer(() => new Response('{}', { headers: { 'Blindpass-Tokens-Consumed': 'true' } }));
  await (await s.client.spend('/v1/chat/completions', post, { cost: 2 })).response.text();
  assert.equal(s.sent[4].tokens.filter((t) => s.sent[0].tokens.includes(t)).length, 0, 'fresh tokens after the window');
  assert.equal(await s.client.balance(), 0);
});

test('true or replayed without a complete answer (5xx, unread body, stream without [DONE]) keeps the tokens for the exact retry', async () => {
  const s = await setup(4);
  s.answer(() => Response.json({ error: { message: 'x', code: 'upstream_failed', tokens_consumed: true } },
    { status: 500, headers: { 'Blindpass-Tokens-Consumed': 'true' } }));
  const first = await s.client.fetch('/v1/chat/completions', post, 1);
  assert.equal(first.status, 500);
  assert.equal(await s.client.balance(), 3);
  s.answer(() => new Response('{"n":1}', { headers: { 'Blindpass-Tokens-Consumed': 'replayed', 'Content-Type': 'application/json' } }));
  const again = await s.client.fetch('/v1/chat/completions', post, 1);
  assert.deepEqual(s.sent[1].tokens, s.sent[0].tokens, 'the retry through fetch() does not pay again');
  assert.equal((await s.wallet.held()).length, 1, 'held until the answer is read');
  assert.deepEqual(await again.json(), { n: 1 });
  assert.equal((await s.wallet.held()).length, 0, 'a complete answer ends the hold');
  await (await s.client.fetch('/v1/chat/completions', post, 1)).text();
  assert.equal(s.sent[2].tokens.filter((t) => s.sent[0].tokens.includes(t)).length, 0, 'the next identical request pays again');
  assert.equal(await s.client.balance(), 2);

  // A stream through fetch() that ends without [DONE].
  const sse = (text) => new Response(text, { headers: { 'Content-Type': 'text/event-stream', 'Blindpass-Tokens-Consumed': 'true' } });
  const streamed = { ...post, body: body.replace('hi', 'stream') };
  s.answer(() => sse('data: {"choices":[{"delta":{"content":"Par"}}]}\n\n'));
  assert.equal((await (await s.client.fetch('/v1/chat/completions', streamed, 1)).text()).length > 0, true);
  assert.equal((await s.wallet.held()).length, 1);
  s.answer(() => sse('data: {"choices":[{"delta":{"content":"Full"}}]}\n\ndata: [DONE]\n\n'));
  const whole = await s.client.fetch('/v1/chat/completions', streamed, 1);
  assert.deepEqual(s.sent[4].tokens, s.sent[3].tokens);
  await whole.text();
  assert.equal((await s.wallet.held()).length, 0, '[DONE] ends the hold');
  assert.equal(await s.client.balance(), 1);
});
