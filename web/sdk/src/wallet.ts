// The browser wallet: tokens, orders and settings in IndexedDB, shared by
// every tab of one origin. Changes that hand out tokens run under one Web
// Lock and inside one IndexedDB transaction, so two tabs never get the same
// token. Export and import use the file format of `blindpass wallet export`
// (client/wallet in the Go module): plain JSON, []byte as standard base64,
// times as RFC 3339; unknown fields are ignored on import.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

import { fromBase64, randomIndex } from './bytes.js';
import { BlindpassError, hints } from './errors.js';
import type { PendingElement } from './issuance.js';
import { defaultLocks, type LockRunner } from './lock.js';

/** The wallet file format version this package reads and writes. */
export const WALLET_VERSION = 1;

/** One unspent token, exactly as in the wallet file. */
export interface WalletToken {
  issuer_name: string;
  /** Standard base64 of the 32-byte token_key_id. */
  token_key_id: string;
  /** RFC 3339; absent: unknown. */
  redeem_until?: string;
  /** Standard base64 of the RFC 9577 token. */
  token: string;
  /** Standard base64 of SHA-256(TokenChallenge). */
  challenge_digest: string;
  origin_info?: string[];
}

/** One order, exactly as in the wallet file. `secret` is the bearer credential for the issuer only. */
export interface WalletOrder {
  issuer_url: string;
  order_id?: string;
  secret: string;
  voucher?: boolean;
  plan?: string;
  /** RFC 3339. */
  created: string;
  exhausted?: boolean;
}

export interface WalletSettings {
  issuer_url?: string;
  redeemer_url?: string;
}

/**
 * A redeemer's remembered challenge, exactly as in the wallet file: the
 * first one seen is kept, and a redeemer answering with another is refused
 * until the person accepts it (challenge-tagging defence).
 */
export interface RememberedChallenge {
  /** scheme://host[:port], lower case. */
  redeemer: string;
  /** Standard base64 of the marshalled TokenChallenge. */
  challenge: string;
  /** RFC 3339: when it was learned or accepted. */
  trusted: string;
  /** Standard base64 of another challenge the redeemer answered with: while set, nothing is spent there. */
  offered?: string;
}

/** The wallet file (`blindpass wallet export --plain`). */
export interface WalletFile {
  version: number;
  orders: WalletOrder[];
  tokens: WalletToken[];
  settings?: WalletSettings;
  challenges?: RememberedChallenge[];
}

/**
 * A token batch saved before it was sent (secret: the blinding inverses
 * yield the tokens). Sent again with its Idempotency-Key after an
 * interruption, so credit the issuer moved is never lost. Kept in this
 * browser only; never exported.
 */
export interface PendingBatch {
  issuer_url: string;
  request_url: string;
  /** The order's bearer credential. */
  secret: string;
  idempotency_key: string;
  /** Standard base64 of the generic batch request body. */
  body: string;
  /** Standard base64 of the key's SPKI. */
  token_key: string;
  /** Unix seconds; absent: unknown. */
  redeem_until?: number;
  /** Standard base64 of the marshalled TokenChallenge. */
  challenge: string;
  elements: PendingElement[];
  /** RFC 3339. */
  created: string;
}

/** What importJSON added, and what it could not take. */
export interface Imported {
  orders: number;
  tokens: number;
  challenges: number;
  /**
   * Interrupted token fetches of the CLI (`pending` batches) in the file:
   * the browser cannot finish them, so they are left to the CLI
   * (`blindpass refill`).
   */
  pendingSkipped: number;
}

/** Tokens whose request got no clear answer: they may go out again only with that exact request. */
export interface HeldTokens {
  /** requestKey() of the request. */
  request: string;
  tokens: WalletToken[];
  /** Unix milliseconds after which they are dropped (the redeemer's replay window). */
  until: number;
}

interface Schema extends DBSchema {
  tokens: { key: string; value: WalletToken; indexes: { digest: string } };
  orders: { key: [string, string]; value: WalletOrder };
  held: { key: string; value: HeldTokens };
  settings: { key: string; value: WalletSettings };
  challenges: { key: string; value: RememberedChallenge };
  pending: { key: string; value: PendingBatch };
}

export interface WalletOptions {
  /** IndexedDB database name (default "blindpass-wallet"). */
  name?: string;
  /** Lock implementation (default: the Web Locks API). */
  locks?: LockRunner;
}

const LOCK = 'blindpass-wallet';

function badFile(msg: string): BlindpassError {
  return new BlindpassError('bad_wallet_file', `not a usable wallet file: ${msg}`, hints.walletFile);
}

function checkToken(t: unknown): WalletToken {
  if (typeof t !== 'object' || t === null) throw badFile('a token is not an object');
  const r = t as Record<string, unknown>;
  const str = (k: string) => {
    if (typeof r[k] !== 'string') throw badFile(`a token lacks ${k}`);
    return r[k] as string;
  };
  const token = str('token');
  const keyId = str('token_key_id');
  const digest = str('challenge_digest');
  const issuer = typeof r['issuer_name'] === 'string' ? (r['issuer_name'] as string) : '';
  let lens: number[];
  try {
    lens = [fromBase64(token).length, fromBase64(keyId).length, fromBase64(digest).length];
  } catch {
    throw badFile('a token field is not base64');
  }
  if (lens[0] === 0) throw badFile('a token is empty');
  if (lens[1] !== 32) throw badFile(`a token key id is ${lens[1]} bytes, want 32`);
  if (lens[2] !== 32) throw badFile(`a challenge digest is ${lens[2]} bytes, want 32`);
  const out: WalletToken = { issuer_name: issuer, token_key_id: keyId, token, challenge_digest: digest };
  if (typeof r['redeem_until'] === 'string' && r['redeem_until'] !== '') {
    if (Number.isNaN(Date.parse(r['redeem_until']))) throw badFile('a redeem_until is not a time');
    out.redeem_until = r['redeem_until'];
  }
  if (Array.isArray(r['origin_info']) && r['origin_info'].length > 0) {
    out.origin_info = r['origin_info'].filter((x): x is string => typeof x === 'string');
  }
  return out;
}

function checkOrder(o: unknown): WalletOrder {
  if (typeof o !== 'object' || o === null) throw badFile('an order is not an object');
  const r = o as Record<string, unknown>;
  if (typeof r['issuer_url'] !== 'string' || r['issuer_url'] === '' || typeof r['secret'] !== 'string' || r['secret'] === '') {
    throw badFile('an order lacks its issuer URL or secret');
  }
  const out: WalletOrder = {
    issuer_url: r['issuer_url'],
    secret: r['secret'],
    created: typeof r['created'] === 'string' ? r['created'] : '0001-01-01T00:00:00Z',
  };
  if (typeof r['order_id'] === 'string' && r['order_id']) out.order_id = r['order_id'];
  if (r['voucher'] === true) out.voucher = true;
  if (typeof r['plan'] === 'string' && r['plan']) out.plan = r['plan'];
  if (r['exhausted'] === true) out.exhausted = true;
  return out;
}

function checkChallenge(c: unknown): RememberedChallenge {
  if (typeof c !== 'object' || c === null) throw badFile('a remembered challenge is not an object');
  const r = c as Record<string, unknown>;
  if (typeof r['redeemer'] !== 'string' || r['redeemer'] === '' || typeof r['challenge'] !== 'string' || r['challenge'] === '') {
    throw badFile('a remembered challenge lacks its redeemer or challenge');
  }
  try {
    fromBase64(r['challenge']);
    if (typeof r['offered'] === 'string') fromBase64(r['offered']);
  } catch {
    throw badFile('a remembered challenge is not base64');
  }
  const out: RememberedChallenge = {
    redeemer: r['redeemer'].toLowerCase(),
    challenge: r['challenge'],
    trusted: typeof r['trusted'] === 'string' ? r['trusted'] : '0001-01-01T00:00:00Z',
  };
  if (typeof r['offered'] === 'string' && r['offered'] !== '') out.offered = r['offered'];
  return out;
}

/** Counts the CLI's interrupted token fetches in a wallet file. */
function pendingCount(text: string): number {
  try {
    const p = (JSON.parse(text) as Record<string, unknown>)['pending'];
    return Array.isArray(p) ? p.length : 0;
  } catch {
    return 0;
  }
}

/** Parses a wallet file (the format of `blindpass wallet export --plain`). */
export function parseWalletFile(text: string): WalletFile {
  if (text.startsWith('age-encryption.org/') || text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')) {
    throw new BlindpassError('bad_wallet_file', 'this wallet export is encrypted',
      'Export it unencrypted for the browser: `blindpass wallet export --plain FILE`.');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badFile('not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badFile('not a JSON object');
  const r = v as Record<string, unknown>;
  const version = typeof r['version'] === 'number' ? r['version'] : 0;
  if (version > WALLET_VERSION) {
    throw badFile(`format version ${version} is newer than this page understands (${WALLET_VERSION})`);
  }
  const tokens = r['tokens'] ?? [];
  const orders = r['orders'] ?? [];
  if (!Array.isArray(tokens) || !Array.isArray(orders)) throw badFile('tokens or orders is not a list');
  const out: WalletFile = { version: WALLET_VERSION, orders: orders.map(checkOrder), tokens: tokens.map(checkToken) };
  if (Array.isArray(r['challenges'])) out.challenges = r['challenges'].map(checkChallenge);
  const s = r['settings'];
  if (typeof s === 'object' && s !== null) {
    const ss = s as Record<string, unknown>;
    out.settings = {};
    if (typeof ss['issuer_url'] === 'string') out.settings.issuer_url = ss['issuer_url'];
    if (typeof ss['redeemer_url'] === 'string') out.settings.redeemer_url = ss['redeemer_url'];
  }
  return out;
}

function usable(t: WalletToken, nowMs: number): boolean {
  return t.redeem_until === undefined || Date.parse(t.redeem_until) > nowMs;
}

/** A Blindpass wallet in this origin's IndexedDB. */
export class Wallet {
  private constructor(private readonly db: IDBPDatabase<Schema>, private readonly locks: LockRunner) {}

  static async open(opts: WalletOptions = {}): Promise<Wallet> {
    const db = await openDB<Schema>(opts.name ?? 'blindpass-wallet', 3, {
      upgrade(db, oldVersion) {
        if (oldVersion < 1) {
          const tokens = db.createObjectStore('tokens', { keyPath: 'token' });
          tokens.createIndex('digest', 'challenge_digest');
          db.createObjectStore('orders', { keyPath: ['issuer_url', 'secret'] });
          db.createObjectStore('held', { keyPath: 'request' });
          db.createObjectStore('settings');
        }
        if (oldVersion < 2) db.createObjectStore('challenges', { keyPath: 'redeemer' });
        if (oldVersion < 3) db.createObjectStore('pending', { keyPath: 'idempotency_key' });
      },
    });
    return new Wallet(db, opts.locks ?? defaultLocks());
  }

  close(): void {
    this.db.close();
  }

  /** Runs fn holding the wallet lock of this origin (all tabs). */
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.locks(LOCK, fn);
  }

  /** Adds tokens not held yet; returns how many were new. */
  async put(tokens: WalletToken[]): Promise<number> {
    const checked = tokens.map(checkToken);
    const tx = this.db.transaction('tokens', 'readwrite');
    let added = 0;
    for (const t of checked) {
      if ((await tx.store.count(t.token)) === 0) {
        await tx.store.put(t);
        added++;
      }
    }
    await tx.done;
    return added;
  }

  /**
   * Hands out count tokens made for the challenge with this digest (standard
   * base64), drawn at random among those still redeemable at validAtMs, and
   * removes them from the wallet, all in one transaction under the lock.
   * With fewer than count available nothing is taken (tokens is empty) and
   * available says how many there are.
   */
  async take(count: number, digestB64: string, validAtMs: number): Promise<{ tokens: WalletToken[]; available: number }> {
    return this.withLock(async () => {
      const tx = this.db.transaction('tokens', 'readwrite');
      const all = (await tx.store.index('digest').getAll(digestB64)).filter((t) => usable(t, validAtMs));
      if (all.length < count) {
        await tx.done;
        return { tokens: [], available: all.length };
      }
      const picked: WalletToken[] = [];
      for (let i = 0; i < count; i++) {
        const j = randomIndex(all.length);
        picked.push(all[j]!);
        all.splice(j, 1);
      }
      for (const t of picked) await tx.store.delete(t.token);
      await tx.done;
      return { tokens: picked, available: all.length + count };
    });
  }

  /** Counts tokens still redeemable at validAtMs, for one challenge digest or all. */
  async balance(digestB64?: string, validAtMs = Date.now()): Promise<number> {
    const all = digestB64 === undefined ? await this.db.getAll('tokens') : await this.db.getAllFromIndex('tokens', 'digest', digestB64);
    return all.filter((t) => usable(t, validAtMs)).length;
  }

  /** Drops tokens whose key stopped redeeming before nowMs; returns how many. */
  async dropExpired(nowMs = Date.now()): Promise<number> {
    const tx = this.db.transaction('tokens', 'readwrite');
    let n = 0;
    for (const t of await tx.store.getAll()) {
      if (!usable(t, nowMs)) {
        await tx.store.delete(t.token);
        n++;
      }
    }
    await tx.done;
    return n;
  }

  /** Stores o, or fills in what the stored order with the same issuer and secret lacks. Returns whether it was new. */
  async addOrder(o: WalletOrder): Promise<boolean> {
    const order = checkOrder(o);
    return this.withLock(async () => {
      const tx = this.db.transaction('orders', 'readwrite');
      const have = await tx.store.get([order.issuer_url, order.secret]);
      if (!have) {
        await tx.store.put(order);
        await tx.done;
        return true;
      }
      const merged: WalletOrder = { ...have };
      if (!merged.order_id && order.order_id) merged.order_id = order.order_id;
      if (!merged.plan && order.plan) merged.plan = order.plan;
      if (Date.parse(order.created) < Date.parse(merged.created)) merged.created = order.created;
      if (order.voucher) merged.voucher = true;
      if (order.exhausted) merged.exhausted = true;
      await tx.store.put(merged);
      await tx.done;
      return false;
    });
  }

  async orders(): Promise<WalletOrder[]> {
    return this.db.getAll('orders');
  }

  async settings(): Promise<WalletSettings> {
    return (await this.db.get('settings', 'settings')) ?? {};
  }

  async setSettings(s: WalletSettings): Promise<void> {
    await this.db.put('settings', { ...s }, 'settings');
  }

  /** Keeps tokens of a request without a clear answer for an exact retry until untilMs. */
  async hold(request: string, tokens: WalletToken[], untilMs: number): Promise<void> {
    await this.withLock(async () => {
      await this.db.put('held', { request, tokens, until: untilMs });
    });
  }

  /** Takes the tokens held for exactly this request, if still inside their window. */
  async takeHeld(request: string, nowMs = Date.now()): Promise<WalletToken[] | undefined> {
    return (await this.takeHeldEntry(request, nowMs))?.tokens;
  }

  /** Takes the record held for exactly this request (tokens and deadline), if still inside its window. */
  async takeHeldEntry(request: string, nowMs = Date.now()): Promise<HeldTokens | undefined> {
    return this.withLock(async () => {
      const tx = this.db.transaction('held', 'readwrite');
      const h = await tx.store.get(request);
      if (h) await tx.store.delete(request);
      await tx.done;
      return h && h.until > nowMs ? h : undefined;
    });
  }

  /**
   * Forgets the tokens held for request if they are still these tokens (the
   * answer they paid for arrived complete: they are spent).
   */
  async releaseHeld(request: string, tokens: WalletToken[]): Promise<void> {
    await this.withLock(async () => {
      const tx = this.db.transaction('held', 'readwrite');
      const h = await tx.store.get(request);
      if (h && h.tokens.length === tokens.length && h.tokens.every((t, i) => t.token === tokens[i]!.token)) {
        await tx.store.delete(request);
      }
      await tx.done;
    });
  }

  /** Requests with tokens held for an exact retry (expired ones are dropped). */
  async held(nowMs = Date.now()): Promise<HeldTokens[]> {
    const tx = this.db.transaction('held', 'readwrite');
    const out: HeldTokens[] = [];
    for (const h of await tx.store.getAll()) {
      if (h.until > nowMs) out.push(h);
      else await tx.store.delete(h.request);
    }
    await tx.done;
    return out;
  }

  /**
   * The whole wallet in the format of `blindpass wallet export --plain`.
   * The tokens stay here too: spend them from one place only.
   */
  async exportFile(): Promise<WalletFile> {
    const tx = this.db.transaction(['tokens', 'orders', 'settings', 'challenges'], 'readonly');
    const [tokens, orders, settings, challenges] = await Promise.all([
      tx.objectStore('tokens').getAll(),
      tx.objectStore('orders').getAll(),
      tx.objectStore('settings').get('settings'),
      tx.objectStore('challenges').getAll(),
    ]);
    await tx.done;
    const file: WalletFile = { version: WALLET_VERSION, orders, tokens };
    if (settings && (settings.issuer_url || settings.redeemer_url)) file.settings = settings;
    if (challenges.length > 0) file.challenges = challenges;
    return file;
  }

  async exportJSON(): Promise<string> {
    return JSON.stringify(await this.exportFile(), null, 1) + '\n';
  }

  /**
   * Merges a wallet file into this wallet; returns what was new. This
   * wallet's settings stay; remembered challenges are added for redeemers
   * this wallet does not know, never replaced.
   */
  async importJSON(text: string): Promise<Imported> {
    const file = parseWalletFile(text);
    let orders = 0;
    for (const o of file.orders) if (await this.addOrder(o)) orders++;
    const tokens = await this.put(file.tokens);
    let challenges = 0;
    for (const c of file.challenges ?? []) {
      const got = await this.rememberChallenge(c, false);
      if (got.challenge === c.challenge && got.trusted === c.trusted) challenges++;
    }
    return { orders, tokens, challenges, pendingSkipped: pendingCount(text) };
  }

  /** Saves a batch before it is sent. */
  async putPending(p: PendingBatch): Promise<void> {
    await this.db.put('pending', p);
  }

  async pendingBatches(): Promise<PendingBatch[]> {
    return this.db.getAll('pending');
  }

  async dropPending(idempotencyKey: string): Promise<void> {
    await this.db.delete('pending', idempotencyKey);
  }

  /** Stores a batch's tokens and forgets the batch, in one transaction; returns how many tokens were new. */
  async completePending(idempotencyKey: string, tokens: WalletToken[]): Promise<number> {
    const checked = tokens.map(checkToken);
    const tx = this.db.transaction(['tokens', 'pending'], 'readwrite');
    const store = tx.objectStore('tokens');
    let added = 0;
    for (const t of checked) {
      if ((await store.count(t.token)) === 0) {
        await store.put(t);
        added++;
      }
    }
    await tx.objectStore('pending').delete(idempotencyKey);
    await tx.done;
    return added;
  }

  /** The challenge remembered for a redeemer origin. */
  async rememberedChallenge(redeemer: string): Promise<RememberedChallenge | undefined> {
    return this.db.get('challenges', redeemer.toLowerCase());
  }

  /**
   * Remembers c for its redeemer when none is remembered, or in its place
   * when replace is set; returns what is remembered afterwards.
   */
  async rememberChallenge(c: RememberedChallenge, replace: boolean): Promise<RememberedChallenge> {
    const rec = checkChallenge(c);
    return this.withLock(async () => {
      const tx = this.db.transaction('challenges', 'readwrite');
      const have = await tx.store.get(rec.redeemer);
      if (have && !replace) {
        await tx.done;
        return have;
      }
      await tx.store.put(rec);
      await tx.done;
      return rec;
    });
  }

  /** Records that the redeemer answered with another challenge: nothing is spent there until one is accepted. */
  async markChallengeOffered(redeemer: string, offered: string): Promise<void> {
    await this.withLock(async () => {
      const tx = this.db.transaction('challenges', 'readwrite');
      const have = await tx.store.get(redeemer.toLowerCase());
      if (have) await tx.store.put({ ...have, offered });
      await tx.done;
    });
  }
}
