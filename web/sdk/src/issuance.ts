// Type 0x0002 issuance in generic batches (draft-ietf-privacypass-batched-
// tokens), with privacypass-ts and blindrsa-ts doing the wire formats and the
// blind RSA. Every finalized token is verified under the directory key, and
// checked to carry that key's id and the challenge's digest, before anyone
// may store it.

import { RSABSSA } from '@cloudflare/blindrsa-ts';
import { AuthenticatorInput, genericBatched, publicVerif, Token, TOKEN_TYPES, util, type TokenChallenge } from '@cloudflare/privacypass-ts';

import { equalBytes, fromBase64, toBase64 } from './bytes.js';
import type { DirectoryKey } from './directory.js';

const { BlindRSAMode, Client: Type2Client, Origin } = publicVerif;

export const MEDIA_BATCH_REQUEST = 'application/private-token-generic-batch-request';
export const MEDIA_BATCH_RESPONSE = 'application/private-token-generic-batch-response';

/** A batch request ready to send, and the state to finalize its answer. */
export interface BatchRequest {
  body: Uint8Array;
  clients: InstanceType<typeof Type2Client>[];
  key: DirectoryKey;
  challenge: TokenChallenge;
}

/** Blinds n fresh token requests for challenge under key. */
export async function buildBatch(key: DirectoryKey, challenge: TokenChallenge, n: number): Promise<BatchRequest> {
  const clients: InstanceType<typeof Type2Client>[] = [];
  const reqs: genericBatched.TokenRequest[] = [];
  for (let i = 0; i < n; i++) {
    const c = new Type2Client(BlindRSAMode.PSS);
    reqs.push(new genericBatched.TokenRequest(await c.createTokenRequest(challenge, key.spki)));
    clients.push(c);
  }
  const body = new genericBatched.BatchedTokenRequest(reqs).serialize();
  return { body, clients, key, challenge };
}

/** What finalizeBatch made of an answer. */
export interface BatchResult {
  tokens: Token[];
  /** Elements the issuer answered with "no token". */
  missing: number;
  /** Elements that did not finalize or verify (never stored). */
  bad: number;
  firstError?: string;
}

/** Imports an SPKI with the RSASSA-PSS OID as a WebCrypto verification key. */
export function importVerifyKey(spki: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('spki', util.convertRSASSAPSSToEnc(spki) as BufferSource,
    { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['verify']);
}

/**
 * Verifies a token the way a redeemer does: its signature under key, and
 * that it names this key and this challenge.
 */
export async function verifyToken(token: Token, key: DirectoryKey, challengeDigest: Uint8Array,
  verifyKey?: CryptoKey): Promise<boolean> {
  if (token.authInput.tokenType !== 0x0002 || !equalBytes(token.authInput.tokenKeyId, key.id) ||
    !equalBytes(token.authInput.challengeDigest, challengeDigest)) {
    return false;
  }
  const pk = verifyKey ?? (await importVerifyKey(key.spki));
  try {
    return await new Origin(BlindRSAMode.PSS).verify(token, pk);
  } catch {
    return false;
  }
}

/** Parses a generic batch response and finalizes and verifies each element. */
export async function finalizeBatch(req: BatchRequest, answer: Uint8Array, challengeDigest: Uint8Array): Promise<BatchResult> {
  const resp = genericBatched.GenericBatchTokenResponse.deserialize(answer);
  const responses = resp.tokenResponses;
  if (responses.length !== req.clients.length) {
    throw new Error(`${responses.length} responses to ${req.clients.length} requests`);
  }
  const pk = await importVerifyKey(req.key.spki);
  const out: BatchResult = { tokens: [], missing: 0, bad: 0 };
  for (const [i, r] of responses.entries()) {
    if (r.tokenResponse === null) {
      out.missing++;
      continue;
    }
    try {
      if (r.tokenType !== 2) throw new Error(`token type ${r.tokenType}`);
      const tok = await req.clients[i]!.finalize(r.tokenResponse as publicVerif.TokenResponse);
      if (!(await verifyToken(tok, req.key, challengeDigest, pk))) throw new Error('token does not verify under the directory key');
      out.tokens.push(tok);
    } catch (e) {
      out.bad++;
      out.firstError ??= (e as Error).message;
    }
  }
  return out;
}

/** What finalizing one element needs after a reload: the token input and the blinding inverse (secret). */
export interface PendingElement {
  /** Standard base64 of the token input (token_type, nonce, challenge digest, key id). */
  token_input: string;
  /** Standard base64 of the blinding inverse. */
  inv: string;
}

interface FinData {
  tokenInput: Uint8Array;
  inv: Uint8Array;
}

/**
 * The finalization state of a batch, to be saved before it is sent: with
 * it, the same request can be sent again after the page was closed (same
 * Idempotency-Key: the issuer answers with the same signatures and moves no
 * more credit) and its answer finalized.
 */
export function batchState(req: BatchRequest): PendingElement[] {
  return req.clients.map((c) => {
    const fin = (c as unknown as { finData?: FinData }).finData;
    if (!fin) throw new Error('token request without its blinding state');
    return { token_input: toBase64(fin.tokenInput), inv: toBase64(fin.inv) };
  });
}

/** Finalizes and verifies a generic batch answer from saved element states (see batchState). */
export async function finalizePending(elements: PendingElement[], key: DirectoryKey, answer: Uint8Array,
  challengeDigest: Uint8Array): Promise<BatchResult> {
  const resp = genericBatched.GenericBatchTokenResponse.deserialize(answer);
  if (resp.tokenResponses.length !== elements.length) {
    throw new Error(`${resp.tokenResponses.length} responses to ${elements.length} requests`);
  }
  const pk = await importVerifyKey(key.spki);
  const suite = RSABSSA.SHA384.PSS.Deterministic();
  const out: BatchResult = { tokens: [], missing: 0, bad: 0 };
  for (const [i, r] of resp.tokenResponses.entries()) {
    if (r.tokenResponse === null) {
      out.missing++;
      continue;
    }
    try {
      if (r.tokenType !== 2) throw new Error(`token type ${r.tokenType}`);
      const input = fromBase64(elements[i]!.token_input);
      const sig = await suite.finalize(pk, input, (r.tokenResponse as publicVerif.TokenResponse).blindSig, fromBase64(elements[i]!.inv));
      const auth = AuthenticatorInput.deserialize(TOKEN_TYPES.BLIND_RSA, input.slice(), { bytesRead: 0 });
      const tok = new Token(TOKEN_TYPES.BLIND_RSA, auth, sig);
      if (!(await verifyToken(tok, key, challengeDigest, pk))) throw new Error('token does not verify under the directory key');
      out.tokens.push(tok);
    } catch (e) {
      out.bad++;
      out.firstError ??= (e as Error).message;
    }
  }
  return out;
}
