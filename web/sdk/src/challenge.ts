// The redeemer's RFC 9577 challenge, read with privacypass-ts.

import { TokenChallenge, WWWAuthenticateHeader } from '@cloudflare/privacypass-ts';

import { sha256, toBase64 } from './bytes.js';
import { BlindpassError, hints } from './errors.js';
import { TOKEN_TYPE_BLIND_RSA } from './directory.js';

export interface Challenge {
  challenge: TokenChallenge;
  /** The serialized TokenChallenge. */
  raw: Uint8Array;
  /** SHA-256 of raw: what tokens made for this challenge carry. */
  digest: Uint8Array;
  /** digest in standard base64, as the wallet file stores it. */
  digestB64: string;
  /** The token-key parameter (SPKI), when given. */
  tokenKey?: Uint8Array;
}

function badChallenge(msg: string): BlindpassError {
  return new BlindpassError('bad_challenge', `unusable redeemer challenge: ${msg}`, hints.challenge);
}

/**
 * Picks the first usable challenge of a WWW-Authenticate value: type
 * 0x0002, an issuer name, an empty redemption context (tokens are fetched
 * ahead of use).
 */
export async function pickChallenge(header: string | null): Promise<Challenge> {
  if (!header) throw badChallenge('no WWW-Authenticate header');
  let parsed: WWWAuthenticateHeader[];
  try {
    parsed = WWWAuthenticateHeader.parse(header);
  } catch (e) {
    throw badChallenge(`malformed WWW-Authenticate: ${(e as Error).message}`);
  }
  for (const h of parsed) {
    const c = h.challenge;
    if (c.tokenType !== TOKEN_TYPE_BLIND_RSA || c.redemptionContext.length !== 0 || c.issuerName === '') continue;
    const raw = c.serialize();
    const digest = await sha256(raw);
    const out: Challenge = { challenge: c, raw, digest, digestB64: toBase64(digest) };
    if (h.tokenKey && h.tokenKey.length > 0) out.tokenKey = h.tokenKey;
    return out;
  }
  throw badChallenge('no PrivateToken challenge of type 0x0002 with an empty redemption context');
}
