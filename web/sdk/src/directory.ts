// The issuer directory (RFC 9578 §4) and the key-consistency rules of the
// Go client: at most 3 keys in all, every type 0x0002 key a readable SPKI,
// the issuance URL on the issuer's own origin (the order secret goes there).

import { equalBytes, fromBase64, sha256, toHex } from './bytes.js';
import { BlindpassError, hints } from './errors.js';

export const DIRECTORY_PATH = '/.well-known/private-token-issuer-directory';
export const MAX_DIRECTORY_KEYS = 3;
export const TOKEN_TYPE_BLIND_RSA = 0x0002;

/** One type 0x0002 key of the directory. */
export interface DirectoryKey {
  /** SHA-256 of the SPKI: the token_key_id. */
  id: Uint8Array;
  /** The SPKI (RSASSA-PSS OID), as in the directory. */
  spki: Uint8Array;
  /** Unix seconds; undefined when absent. */
  notBefore?: number;
  /** Unix seconds, the Blindpass extension "redeem-until"; undefined when absent. */
  redeemUntil?: number;
}

export interface Directory {
  issuerURL: string;
  /** Absolute issuer-request-uri. */
  requestURL: string;
  keys: DirectoryKey[];
}

function badDirectory(msg: string): BlindpassError {
  return new BlindpassError('bad_directory', `unacceptable issuer directory: ${msg}`, hints.directory);
}

/** Checks and decodes a directory body fetched from issuerURL. */
export async function parseDirectory(issuerURL: string, body: unknown): Promise<Directory> {
  if (typeof body !== 'object' || body === null) throw badDirectory('not a JSON object');
  const d = body as Record<string, unknown>;
  const uri = d['issuer-request-uri'];
  if (typeof uri !== 'string' || uri.trim() === '') throw badDirectory('no issuer-request-uri');
  const list = d['token-keys'];
  if (!Array.isArray(list)) throw badDirectory('no token-keys list');
  if (list.length > MAX_DIRECTORY_KEYS) {
    throw badDirectory(`${list.length} keys, at most ${MAX_DIRECTORY_KEYS} allowed (a directory with more could tag its users)`);
  }
  const base = new URL(issuerURL);
  let request: URL;
  try {
    request = new URL(uri, base);
  } catch {
    throw badDirectory(`issuer-request-uri ${JSON.stringify(uri)} is not a URL`);
  }
  if (request.origin !== base.origin) {
    throw badDirectory(`issuer-request-uri ${request} is not on the issuer's origin ${base.origin}; the order secret is only sent to the issuer`);
  }
  const keys: DirectoryKey[] = [];
  for (const [i, k] of list.entries()) {
    if (typeof k !== 'object' || k === null) throw badDirectory(`token-keys[${i}] is not an object`);
    const e = k as Record<string, unknown>;
    if (e['token-type'] !== TOKEN_TYPE_BLIND_RSA) continue;
    if (typeof e['token-key'] !== 'string') throw badDirectory(`token-keys[${i}] has no token-key`);
    let spki: Uint8Array;
    try {
      spki = fromBase64(e['token-key']);
    } catch {
      throw badDirectory(`token-keys[${i}]: token-key is not base64url`);
    }
    if (spki.length < 256) throw badDirectory(`token-keys[${i}] is not an RSA-2048 key`);
    const key: DirectoryKey = { id: await sha256(spki), spki };
    if (typeof e['not-before'] === 'number' && e['not-before'] > 0) key.notBefore = e['not-before'];
    if (typeof e['redeem-until'] === 'number' && e['redeem-until'] > 0) key.redeemUntil = e['redeem-until'];
    if (keys.some((o) => equalBytes(o.id, key.id))) throw badDirectory(`token-keys[${i}] is listed twice`);
    keys.push(key);
  }
  if (keys.length === 0) throw badDirectory(`${issuerURL} lists no type 0x0002 key`);
  return { issuerURL: base.href.replace(/\/$/, ''), requestURL: request.href, keys };
}

/** The keys that may sign at nowSeconds, the most recent first. */
export function issuingKeys(d: Directory, nowSeconds: number): DirectoryKey[] {
  return d.keys
    .filter((k) => (k.notBefore === undefined || nowSeconds >= k.notBefore) &&
      (k.redeemUntil === undefined || nowSeconds < k.redeemUntil))
    .sort((a, b) => (b.notBefore ?? 0) - (a.notBefore ?? 0));
}

/**
 * Checks that the SPKI a redeemer's challenge names is one the issuer lists.
 * A key the issuer does not list is refused: a redeemer could otherwise hand
 * each client a key of its own and recognise its tokens.
 */
export function checkChallengeKey(d: Directory, tokenKey: Uint8Array | undefined): void {
  if (!tokenKey || tokenKey.length === 0) return;
  if (!d.keys.some((k) => equalBytes(k.spki, tokenKey))) {
    throw new BlindpassError('key_not_listed',
      `the redeemer's token key is not in the directory of ${d.issuerURL}`, hints.keyNotListed);
  }
}

export function keyIdHex(k: DirectoryKey): string {
  return toHex(k.id);
}
