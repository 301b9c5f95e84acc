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

/** host[:port] lower case, without the scheme's default port (Go client's canonicalHost). */
function canonicalHost(hostport: string, scheme: string): string {
  const h = hostport.toLowerCase();
  const m = /^(.*):(\d+)$/.exec(h);
  if (m && ((scheme === 'https:' && m[2] === '443') || (scheme === 'http:' && m[2] === '80'))) return m[1]!;
  return h;
}

/**
 * Checks what a client can check of a redeemer's challenge by itself, like
 * the Go client's CheckChallenge: type 0x0002, an empty redemption context,
 * issuer_name equal to the issuer URL's host[:port], and the redeemer's
 * host[:port] among the origin names. Returns the reason it fails, or
 * undefined.
 */
export function challengeProblem(c: TokenChallenge, issuerURL?: string, redeemerURL?: string): string | undefined {
  if (c.tokenType !== TOKEN_TYPE_BLIND_RSA) return `token type 0x${c.tokenType.toString(16).padStart(4, '0')}, want 0x0002`;
  if (c.redemptionContext.length !== 0) return 'the redemption context is not empty (a per-request challenge; tokens here are fetched ahead of use)';
  if (c.issuerName === '') return 'no issuer name';
  if (issuerURL) {
    const u = new URL(issuerURL);
    if (canonicalHost(c.issuerName, u.protocol) !== canonicalHost(u.host, u.protocol)) {
      return `the challenge names issuer ${JSON.stringify(c.issuerName)}, not the issuer ${u.host}`;
    }
  }
  if (redeemerURL) {
    const u = new URL(redeemerURL);
    if (!(c.originInfo ?? []).some((o) => canonicalHost(o, u.protocol) === canonicalHost(u.host, u.protocol))) {
      return `the challenge's origin names ${JSON.stringify((c.originInfo ?? []).join(','))} do not include the redeemer ${u.host}`;
    }
  }
  return undefined;
}

/** The challenge record of serialized TokenChallenge bytes. */
export async function challengeFromBytes(raw: Uint8Array, tokenKey?: Uint8Array): Promise<Challenge> {
  const c = TokenChallenge.deserialize(raw);
  const digest = await sha256(raw);
  const out: Challenge = { challenge: c, raw, digest, digestB64: toBase64(digest) };
  if (tokenKey && tokenKey.length > 0) out.tokenKey = tokenKey;
  return out;
}

/**
 * Picks the first usable challenge of a WWW-Authenticate value (see
 * challengeProblem; the issuer and redeemer checks apply when their URLs
 * are given).
 */
export async function pickChallenge(header: string | null, issuerURL?: string, redeemerURL?: string): Promise<Challenge> {
  if (!header) throw badChallenge('no WWW-Authenticate header');
  let parsed: WWWAuthenticateHeader[];
  try {
    parsed = WWWAuthenticateHeader.parse(header);
  } catch (e) {
    throw badChallenge(`malformed WWW-Authenticate: ${(e as Error).message}`);
  }
  let first: string | undefined;
  for (const h of parsed) {
    const problem = challengeProblem(h.challenge, issuerURL, redeemerURL);
    if (problem) {
      first ??= problem;
      continue;
    }
    return challengeFromBytes(h.challenge.serialize(), h.tokenKey);
  }
  throw badChallenge(first ?? 'no PrivateToken challenge');
}
