// Wire vectors of ../../../../shared/vectors (RFC 9578 type 2, an independent
// type 2 set, and the generic batch of draft-ietf-privacypass-batched-tokens)
// against the package and the Cloudflare libraries it is built on.
import './setup.mjs';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { RSABSSA } from '@cloudflare/blindrsa-ts';
import { genericBatched, publicVerif, Token, TokenChallenge, TOKEN_TYPES, util } from '@cloudflare/privacypass-ts';

import { fromHex, importVerifyKey, toHex, verifyToken } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
// The vectors live in the team's shared folder next to the repository; CI
// copies it beside the clone. BLINDPASS_VECTORS overrides.
function vectorsDir() {
  if (process.env.BLINDPASS_VECTORS) return process.env.BLINDPASS_VECTORS;
  for (const up of ['../../../../shared/vectors', '../../../../../shared/vectors']) {
    const d = join(here, up);
    try {
      readFileSync(join(d, 'README.md'));
      return d;
    } catch {
      /* next */
    }
  }
  throw new Error('shared/vectors not found next to the repository; set BLINDPASS_VECTORS');
}
const load = (f) => JSON.parse(readFileSync(join(vectorsDir(), f), 'utf8'));

function modInverse(a, n) {
  let [r0, r1, s0, s1] = [n, a % n, 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % n) + n) % n;
}

async function sha256(b) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', b));
}

for (const file of ['rfc9578-type2-issuance.json', 'rfc9578-type2-issuance.independent.json']) {
  test(`type 2 vectors: ${file}`, async () => {
    const vectors = load(file);
    assert.ok(vectors.length >= 5);
    for (const [i, v] of vectors.entries()) {
      const spki = fromHex(v.pkS);
      const challengeBytes = fromHex(v.token_challenge);
      const tokenBytes = fromHex(v.token);
      const key = { id: await sha256(spki), spki };
      const digest = await sha256(challengeBytes);

      // The challenge round-trips through privacypass-ts byte for byte.
      const chl = TokenChallenge.deserialize(challengeBytes);
      assert.equal(toHex(chl.serialize()), v.token_challenge, `vector ${i}: challenge`);

      // The token parses, names the key and the challenge, and verifies.
      const tok = Token.deserialize(TOKEN_TYPES.BLIND_RSA, tokenBytes);
      assert.equal(toHex(tok.serialize()), v.token, `vector ${i}: token round trip`);
      assert.equal(toHex(tok.authInput.nonce), v.nonce);
      assert.equal(await verifyToken(tok, key, digest), true, `vector ${i}: token verifies`);

      // Any changed bit, a wrong challenge or another key is refused.
      const bad = tokenBytes.slice();
      bad[bad.length - 1] ^= 1;
      assert.equal(await verifyToken(Token.deserialize(TOKEN_TYPES.BLIND_RSA, bad), key, digest), false, `vector ${i}: flipped bit`);
      const otherDigest = digest.slice();
      otherDigest[0] ^= 1;
      assert.equal(await verifyToken(tok, key, otherDigest), false, `vector ${i}: other challenge`);

      // The token request parses as a type 2 TokenRequest and round-trips;
      // its truncated key id is the key id's last byte.
      const req = publicVerif.TokenRequest.deserialize(TOKEN_TYPES.BLIND_RSA, fromHex(v.token_request));
      assert.equal(toHex(req.serialize()), v.token_request);
      assert.equal(req.truncatedTokenKeyId, key.id[31]);

      // Finalizing the vector's blind signature with the inverse of its
      // blind gives the vector's authenticator (the library the package
      // finalizes with).
      const suite = RSABSSA.SHA384.PSS.Deterministic();
      const pk = await importVerifyKey(spki);
      const jwk = await crypto.subtle.exportKey('jwk', pk);
      const n = BigInt('0x' + toHex(Buffer.from(jwk.n, 'base64url')));
      const inv = modInverse(BigInt('0x' + v.blind), n);
      const sig = await suite.finalize(pk, tok.authInput.serialize(), fromHex(v.token_response), fromHex(inv.toString(16).padStart(512, '0')));
      assert.equal(toHex(sig), toHex(tok.authenticator), `vector ${i}: finalize`);
    }
  });
}

test('generic batch vectors: request and response encodings', async () => {
  const vectors = load('batched-generic-issuance.json');
  let type2 = 0;
  for (const [i, v] of vectors.entries()) {
    const batch = genericBatched.BatchedTokenRequest.deserialize(fromHex(v.token_request));
    assert.equal(toHex(batch.serialize()), v.token_request, `vector ${i}: request round trip`);
    assert.deepEqual([...batch].map((r) => r.tokenType), v.issuance.map((e) => parseInt(e.type, 16)), `vector ${i}: element types`);

    const resp = genericBatched.GenericBatchTokenResponse.deserialize(fromHex(v.token_response));
    assert.equal(toHex(resp.serialize()), v.token_response, `vector ${i}: response round trip`);
    assert.equal(resp.tokenResponses.length, v.issuance.length);

    for (const [j, e] of v.issuance.entries()) {
      if (e.type !== '0002') continue;
      type2++;
      const spki = fromHex(e.pkS);
      const key = { id: await sha256(spki), spki };
      const tok = Token.deserialize(TOKEN_TYPES.BLIND_RSA, fromHex(e.token));
      assert.equal(await verifyToken(tok, key, await sha256(fromHex(e.token_challenge))), true, `vector ${i}.${j}: token verifies`);
      assert.equal(resp.tokenResponses[j].tokenType, 2);
    }
  }
  assert.ok(type2 >= 3, 'the batch vectors include type 2 tokens');
});

test('generic batch: the encoding the Go issuer parses (varint length, whole TokenRequests)', async () => {
  const { privateKey, publicKey } = await publicVerif.Issuer.generateKey(publicVerif.BlindRSAMode.PSS,
    { modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) });
  void privateKey;
  const spki = await publicVerif.getPublicKeyBytes(publicKey);
  const chl = new TokenChallenge(2, 'issuer.example', new Uint8Array(), ['origin.example']);
  const reqs = [];
  for (let i = 0; i < 3; i++) reqs.push(await new publicVerif.Client(publicVerif.BlindRSAMode.PSS).createTokenRequest(chl, spki));
  const body = new genericBatched.BatchedTokenRequest(reqs.map((r) => new genericBatched.TokenRequest(r))).serialize();
  // 3 × 259 = 777 bytes: a two-byte QUIC varint 0x4309, then the requests as they are.
  assert.equal(toHex(body.slice(0, 2)), '4309');
  assert.equal(body.length, 2 + 777);
  assert.equal(toHex(body.slice(2, 2 + 259)), toHex(reqs[0].serialize()));
  assert.ok(util.convertRSASSAPSSToEnc(spki).length > 0);
});
