// BlindpassClient: the browser twin of the Go client (client/): plans,
// orders, token fetching in generic batches, refills, and spending tokens on
// a redeemer's premium gateway with the Blindpass-Tokens-Consumed rules.

import { Token, TOKEN_TYPES } from '@cloudflare/privacypass-ts';

import { fromBase64, randomBytes, sha256, toBase64, toBase64URL, toHex, utf8 } from './bytes.js';
import { type Challenge, challengeFromBytes, pickChallenge } from './challenge.js';
import { checkChallengeKey, DIRECTORY_PATH, type Directory, type DirectoryKey, issuingKeys, parseDirectory } from './directory.js';
import {
  BlindpassError, ChallengeChangedError, hints, IssuerUnreachableError, NoTokensError, ProblemError, RedeemerUnreachableError, StreamCutError,
  type ErrorCode,
} from './errors.js';
import { batchState, buildBatch, finalizeBatch, finalizePending, MEDIA_BATCH_REQUEST, MEDIA_BATCH_RESPONSE } from './issuance.js';
import { type ChatChunk, sseData } from './sse.js';
import type { PendingBatch, Wallet, WalletOrder, WalletToken } from './wallet.js';

/** A plan the issuer sells. */
export interface Plan {
  id: string;
  name: string;
  kind: string;
  tokens: number;
  /** Minor units. */
  price: number;
  currency: string;
}

/** A model of the redeemer's gateway and its cost in tokens per request (0 = free). */
export interface Model {
  id: string;
  cost: number;
}

/** GET /v1/orders/current. */
export interface OrderStatus {
  order_id: string;
  plan: string;
  status: 'pending' | 'paid' | 'frozen' | 'refunded' | 'expired' | string;
  credits_total: number;
  credits_issued: number;
  credits_remaining: number;
}

/** Progress of a token fetch: tokens stored so far of total for one order. */
export interface FetchProgress {
  order: WalletOrder;
  done: number;
  total: number;
}

export interface ClientOptions {
  issuerURL: string;
  redeemerURL: string;
  wallet: Wallet;
  /** fetch to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Token requests per issuance request (default 20). */
  batchSize?: number;
  /** How long tokens without a clear answer may be retried with the same request (default 5 minutes, the redeemer's replay window). */
  replayWindowMs?: number;
  /** Tokens whose key stops redeeming this soon are not spent (default 2 minutes). */
  expiryMarginMs?: number;
  /** Refill when fewer tokens than this remain (default 10; 0 turns automatic refills off). */
  refillBelow?: number;
  /** Random delay before an automatic refill, in milliseconds (default 5 s to 60 s). */
  refillDelayMs?: [number, number];
  /** Told about every automatic refill's progress and end. */
  onRefill?: (e: { progress?: FetchProgress; stored?: number; error?: unknown }) => void;
  now?: () => number;
}

/** What fetch/spend did with the tokens of a request. */
export type TokensOutcome = 'spent' | 'replayed' | 'returned' | 'held' | 'dropped' | 'none';

/** A spend's answer and what happened to its tokens. */
export interface SpendResult {
  response: Response;
  outcome: TokensOutcome;
  /** requestKey of the request (method, URL, body). */
  request: string;
}

export interface SpendOptions {
  /** Tokens to attach (the model's cost). */
  cost: number;
  signal?: AbortSignal;
}

const DEFAULTS = { batchSize: 20, replayWindowMs: 5 * 60_000, expiryMarginMs: 2 * 60_000, refillBelow: 10 };

/**
 * Held tokens are dropped this long before the replay window ends, so that a
 * retry still reaches the redeemer inside it (the Go client's replayMargin).
 */
const REPLAY_MARGIN_MS = 15_000;

/** Null-body statuses: a Response with one of them cannot carry a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function trimBase(u: string): string {
  const url = new URL(u);
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
    throw new TypeError(`want http(s)://host[:port][/path], got ${u}`);
  }
  return url.href.replace(/\/+$/, '');
}

/** The key an exact retry shares: method, absolute URL and SHA-256 of the body. */
export async function requestKey(method: string, url: string, body: string | Uint8Array | undefined): Promise<string> {
  const b = body === undefined ? new Uint8Array() : typeof body === 'string' ? utf8.encode(body) : body;
  return `${method.toUpperCase()} ${url} ${toHex(await sha256(b))}`;
}

/** Authorization value carrying tokens (base64url, padded), several comma-separated. */
export function formatAuthorization(tokens: Uint8Array[]): string {
  return 'PrivateToken ' + tokens.map((t) => `token="${toBase64URL(t)}"`).join(', ');
}

interface Problem {
  status: number;
  type: string;
  code: string;
  detail: string;
  tokensConsumed?: boolean | 'unknown' | 'replayed';
}

/** Reads an RFC 9457 problem or an OpenAI error body (without consuming the caller's response). */
export async function readProblem(resp: Response): Promise<Problem> {
  const p: Problem = { status: resp.status, type: '', code: '', detail: resp.statusText };
  try {
    const body = (await resp.clone().json()) as Record<string, unknown>;
    const err = body['error'];
    if (typeof err === 'object' && err !== null) {
      const e = err as Record<string, unknown>;
      p.type = String(e['problem_type'] ?? '');
      p.code = String(e['code'] ?? e['type'] ?? '');
      p.detail = String(e['message'] ?? p.detail);
      const tc = e['tokens_consumed'];
      if (tc === true || tc === false || tc === 'unknown') p.tokensConsumed = tc;
    } else {
      p.type = String(body['type'] ?? '');
      p.code = p.type.split('/').pop() ?? '';
      p.detail = String(body['detail'] ?? body['title'] ?? p.detail);
      const tc = body['tokens_consumed'];
      if (tc === true || tc === false || tc === 'unknown') p.tokensConsumed = tc;
    }
  } catch {
    /* not JSON: keep the status text */
  }
  const h = resp.headers.get('Blindpass-Tokens-Consumed');
  if (h === 'true') p.tokensConsumed = true;
  else if (h === 'false') p.tokensConsumed = false;
  else if (h === 'unknown' || h === 'replayed') p.tokensConsumed = h;
  return p;
}

/** Turns an error answer into a typed error with a hint for a person. */
export async function problemError(resp: Response): Promise<ProblemError> {
  const p = await readProblem(resp);
  const code = p.code.replace(/_/g, '-');
  let kind: ErrorCode = 'server_error';
  let hint = hints.server;
  switch (code) {
    case 'token-already-spent':
    case 'replay-limit':
      kind = 'token_spent';
      hint = hints.spent;
      break;
    case 'unknown-order-secret':
    case 'voucher-code-typo':
      kind = 'unknown_secret';
      hint = hints.unknownSecret;
      break;
    case 'order-not-paid':
      kind = 'not_paid';
      hint = hints.notPaid;
      break;
    case 'order-frozen':
    case 'order-refunded':
    case 'order-expired':
      kind = 'order_closed';
      hint = 'This order can no longer give tokens.';
      break;
    case 'insufficient-credit':
      kind = 'no_credit';
      hint = hints.noCredit;
      break;
    default:
      if (p.tokensConsumed === false) hint = 'The service could not answer; your tokens are back in the wallet. Try again.';
  }
  return new ProblemError(kind, p.status, p.type, p.detail || p.code, hint, p.tokensConsumed);
}

/** The request of a saved batch: the same bytes and headers every time. */
function batchInit(p: PendingBatch): RequestInit {
  return {
    method: 'POST',
    headers: {
      'Content-Type': MEDIA_BATCH_REQUEST,
      Accept: MEDIA_BATCH_RESPONSE,
      Authorization: 'Bearer ' + p.secret,
      'Idempotency-Key': p.idempotency_key,
    },
    body: fromBase64(p.body) as BodyInit,
  };
}

function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

export class BlindpassClient {
  readonly issuerURL: string;
  readonly redeemerURL: string;
  readonly wallet: Wallet;
  private readonly opts: Required<Pick<ClientOptions, 'batchSize' | 'replayWindowMs' | 'expiryMarginMs' | 'refillBelow'>> & ClientOptions;
  private readonly f: typeof fetch;
  private dir?: { d: Directory; at: number };
  private chal?: Challenge;
  private refillTimer?: ReturnType<typeof setTimeout>;
  private refilling?: Promise<number>;

  constructor(opts: ClientOptions) {
    this.opts = { ...DEFAULTS, ...opts };
    this.issuerURL = trimBase(opts.issuerURL);
    this.redeemerURL = trimBase(opts.redeemerURL);
    this.wallet = opts.wallet;
    const f = opts.fetch ?? globalThis.fetch;
    this.f = (input, init) => f(input, { ...init, credentials: 'omit', referrerPolicy: 'no-referrer' });
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  // ---- plumbing --------------------------------------------------------------

  private async issuerFetch(url: string, init: RequestInit, retries = 3): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        const resp = await this.f(url, init);
        if (resp.status < 500 || attempt >= retries) return resp;
      } catch (e) {
        if (isAbort(e)) throw e;
        if (attempt >= retries) throw new IssuerUnreachableError(this.issuerURL, (e as Error).message, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 300 * 2 ** attempt));
    }
  }

  private async redeemerFetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.f(url, init);
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new RedeemerUnreachableError(this.redeemerURL, (e as Error).message, false, { cause: e });
    }
  }

  // ---- issuer ------------------------------------------------------------------

  /** The issuer's checked directory (cached for 5 minutes). */
  async directory(force = false): Promise<Directory> {
    if (!force && this.dir && this.now() - this.dir.at < 5 * 60_000) return this.dir.d;
    const resp = await this.issuerFetch(this.issuerURL + DIRECTORY_PATH, {
      headers: { Accept: 'application/private-token-issuer-directory, application/json' },
    });
    if (!resp.ok) throw new BlindpassError('bad_directory', `issuer directory: HTTP ${resp.status}`, hints.directory);
    let body: unknown;
    try {
      body = await resp.json();
    } catch {
      throw new BlindpassError('bad_directory', 'issuer directory: not JSON', hints.directory);
    }
    const d = await parseDirectory(this.issuerURL, body);
    this.dir = { d, at: this.now() };
    return d;
  }

  /** The plans on sale. */
  async plans(): Promise<Plan[]> {
    const resp = await this.issuerFetch(this.issuerURL + '/v1/plans', { headers: { Accept: 'application/json' } });
    if (!resp.ok) throw await problemError(resp);
    return (await resp.json()) as Plan[];
  }

  /**
   * Creates an order for plan with a fresh 32-byte secret (only its hash is
   * sent) and stores the order in the wallet before returning, so the page
   * may leave for the checkout. Not retried: a lost answer may have made the
   * order; start again with a new secret.
   */
  async createOrder(plan: string): Promise<{ order: WalletOrder; checkoutURL: string }> {
    const secret = randomBytes(32);
    const bearer = toBase64URL(secret, false);
    const hash = toBase64URL(await sha256(secret), false);
    let resp: Response;
    try {
      resp = await this.f(this.issuerURL + '/v1/orders', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ plan, secret_hash: hash }),
      });
    } catch (e) {
      throw new IssuerUnreachableError(this.issuerURL, (e as Error).message, { cause: e });
    }
    if (resp.status !== 201 && resp.status !== 200) throw await problemError(resp);
    const body = (await resp.json()) as { order_id?: string; checkout_url?: string };
    if (!body.order_id || !body.checkout_url) throw new BlindpassError('server_error', 'the order answer lacks order_id or checkout_url', hints.server);
    const order: WalletOrder = { issuer_url: this.issuerURL, order_id: body.order_id, secret: bearer, plan, created: new Date(this.now()).toISOString() };
    await this.wallet.addOrder(order);
    return { order, checkoutURL: new URL(body.checkout_url, this.issuerURL + '/').href };
  }

  /** Asks the issuer about an order (its secret goes only to the issuer, as a Bearer credential). */
  async orderStatus(order: WalletOrder): Promise<OrderStatus> {
    const resp = await this.issuerFetch(order.issuer_url + '/v1/orders/current', {
      headers: { Accept: 'application/json', Authorization: 'Bearer ' + order.secret },
    });
    if (!resp.ok) throw await problemError(resp);
    return (await resp.json()) as OrderStatus;
  }

  /** Polls until the order is paid (default every 2 s). An order that ends unpaid throws. */
  async waitPaid(order: WalletOrder, o: { intervalMs?: number; signal?: AbortSignal; onStatus?: (s: OrderStatus) => void } = {}): Promise<OrderStatus> {
    for (;;) {
      o.signal?.throwIfAborted();
      try {
        const st = await this.orderStatus(order);
        o.onStatus?.(st);
        if (st.status === 'paid') return st;
        if (st.status === 'expired' || st.status === 'refunded' || st.status === 'frozen') {
          await this.wallet.addOrder({ ...order, exhausted: true });
          throw new BlindpassError('order_closed', `order ${st.order_id} is ${st.status}`, 'This order can no longer be paid; buy again.');
        }
      } catch (e) {
        if (!(e instanceof IssuerUnreachableError)) throw e;
      }
      await new Promise((r) => setTimeout(r, o.intervalMs ?? 2000));
    }
  }

  /**
   * Turns the remaining credit of order into tokens for the redeemer's
   * challenge, in generic batches of batchSize, storing each batch before the
   * next; onProgress sees every stored batch. Returns how many were stored.
   */
  async fetchTokens(order: WalletOrder, o: { onProgress?: (p: FetchProgress) => void; count?: number } = {}): Promise<number> {
    const chal = await this.challenge();
    const dir = await this.directory();
    checkChallengeKey(dir, chal.tokenKey);
    let keys = issuingKeys(dir, this.now() / 1000);
    if (keys.length === 0) throw new BlindpassError('bad_directory', `no key of ${dir.issuerURL} issues tokens now`, hints.directory);
    let total = o.count ?? 0;
    if (total <= 0) {
      const st = await this.orderStatus(order);
      if (st.status !== 'paid') throw new ProblemError('not_paid', 403, '', `order ${st.order_id} is ${st.status}`, hints.notPaid);
      if (st.credits_remaining <= 0) {
        await this.wallet.addOrder({ ...order, exhausted: true });
        return 0;
      }
      total = st.credits_remaining;
    }
    let batch = this.opts.batchSize;
    let done = 0;
    while (done < total) {
      const size = Math.min(batch, total - done);
      const key = keys[0]!;
      const req = await buildBatch(key, chal.challenge, size);
      const idem = toBase64URL(randomBytes(16), false);
      // Saved before it leaves: an answer lost to a closed page or a
      // network failure is asked for again (resumePending) with the same
      // Idempotency-Key, so credit the issuer moved is never lost.
      const pending: PendingBatch = {
        issuer_url: this.issuerURL, request_url: dir.requestURL, secret: order.secret, idempotency_key: idem,
        body: toBase64(req.body), token_key: toBase64(key.spki), challenge: toBase64(chal.raw),
        elements: batchState(req), created: new Date(this.now()).toISOString(),
      };
      if (key.redeemUntil !== undefined) pending.redeem_until = key.redeemUntil;
      await this.wallet.putPending(pending);
      const resp = await this.issuerFetch(dir.requestURL, batchInit(pending));
      if (resp.status !== 200) {
        const err = await problemError(resp);
        if (resp.status >= 500) throw err; // kept: the credit may have moved
        await this.wallet.dropPending(idem); // refused: nothing was issued
        if (resp.status === 413 && size > 1) {
          batch = Math.max(1, Math.floor(size / 2));
          continue;
        }
        if (err.type.endsWith('/unknown-token-key') && keys.length > 1 && done === 0) {
          keys = keys.slice(1);
          continue;
        }
        if (err.code === 'no_credit') await this.wallet.addOrder({ ...order, exhausted: true });
        if (done > 0 && err.code === 'no_credit') return done;
        throw err;
      }
      const answer = new Uint8Array(await resp.arrayBuffer());
      let res;
      try {
        res = await finalizeBatch(req, answer, chal.digest);
      } catch (e) {
        await this.wallet.dropPending(idem);
        throw new BlindpassError('bad_issuance', `invalid answer from the issuer: ${(e as Error).message}`, hints.issuance);
      }
      done += await this.wallet.completePending(idem, res.tokens.map((t) => walletToken(t, key, chal)));
      o.onProgress?.({ order, done, total });
      if (res.bad > 0 || res.missing > 0) {
        throw new BlindpassError('bad_issuance',
          `invalid answer from the issuer: ${res.bad} tokens do not verify, ${res.missing} missing (${res.firstError ?? ''})`, hints.issuance);
      }
    }
    return done;
  }

  /**
   * Sends the batches of this issuer saved before an interruption again,
   * with their Idempotency-Key (the issuer answers with the same signatures
   * and moves no more credit), and stores their tokens. A refusal (4xx)
   * forgets a batch; no answer or a 5xx keeps it for next time. Returns how
   * many tokens were stored.
   */
  async resumePending(): Promise<number> {
    let stored = 0;
    for (const p of await this.wallet.pendingBatches()) {
      if (p.issuer_url !== this.issuerURL) continue;
      const resp = await this.issuerFetch(p.request_url, batchInit(p));
      if (resp.status >= 500) throw await problemError(resp);
      if (resp.status !== 200) {
        await this.wallet.dropPending(p.idempotency_key);
        continue;
      }
      const spki = fromBase64(p.token_key);
      const key: DirectoryKey = { id: await sha256(spki), spki };
      if (p.redeem_until !== undefined) key.redeemUntil = p.redeem_until;
      const chal = await challengeFromBytes(fromBase64(p.challenge));
      let res;
      try {
        res = await finalizePending(p.elements, key, new Uint8Array(await resp.arrayBuffer()), chal.digest);
      } catch (e) {
        await this.wallet.dropPending(p.idempotency_key);
        throw new BlindpassError('bad_issuance', `invalid answer from the issuer: ${(e as Error).message}`, hints.issuance);
      }
      stored += await this.wallet.completePending(p.idempotency_key, res.tokens.map((t) => walletToken(t, key, chal)));
    }
    return stored;
  }

  /** Turns the remaining credit of every order of this issuer into tokens. */
  async refill(onProgress?: (p: FetchProgress) => void): Promise<number> {
    if (this.refilling) return this.refilling;
    this.refilling = (async () => {
      let stored = await this.resumePending();
      for (const o of await this.wallet.orders()) {
        if (o.issuer_url !== this.issuerURL || o.exhausted) continue;
        let st: OrderStatus;
        try {
          st = await this.orderStatus(o);
        } catch (e) {
          if (e instanceof ProblemError && e.code === 'unknown_secret') continue;
          throw e;
        }
        if (st.status === 'refunded' || st.status === 'expired') {
          await this.wallet.addOrder({ ...o, exhausted: true });
          continue;
        }
        if (st.status !== 'paid' || st.credits_remaining <= 0) continue;
        stored += await this.fetchTokens(o, { count: st.credits_remaining, onProgress });
      }
      return stored;
    })();
    try {
      return await this.refilling;
    } finally {
      this.refilling = undefined;
    }
  }

  /**
   * Schedules a refill after a random delay when fewer than refillBelow
   * tokens remain (the privacy habit of the CLI: whole batches ahead of
   * need, fetched at a time unrelated to a spend).
   */
  async maybeRefill(): Promise<boolean> {
    if (this.opts.refillBelow <= 0 || this.refillTimer !== undefined) return false;
    if ((await this.balance()) >= this.opts.refillBelow) return false;
    const hasCredit = (await this.wallet.orders()).some((o) => o.issuer_url === this.issuerURL && !o.exhausted);
    if (!hasCredit) return false;
    const [lo, hi] = this.opts.refillDelayMs ?? [5_000, 60_000];
    const delay = lo + (crypto.getRandomValues(new Uint32Array(1))[0]! / 0x100000000) * (hi - lo);
    this.refillTimer = setTimeout(() => {
      this.refill((progress) => this.opts.onRefill?.({ progress }))
        .then((stored) => this.opts.onRefill?.({ stored }), (error) => this.opts.onRefill?.({ error }))
        .finally(() => {
          this.refillTimer = undefined;
        });
    }, delay);
    return true;
  }

  // ---- redeemer ----------------------------------------------------------------

  /** The redeemer's origin, the key of its remembered challenge. */
  get redeemerOrigin(): string {
    return new URL(this.redeemerURL).origin.toLowerCase();
  }

  /**
   * Asks the redeemer for its current challenge (POST /v1/redeem without a
   * token answers 401 with it), checks it against the issuer and the
   * redeemer (challengeProblem) and its key against the issuer's directory.
   */
  private async probeChallenge(): Promise<Challenge> {
    const resp = await this.redeemerFetch(this.redeemerURL + '/v1/redeem', { method: 'POST' });
    if (resp.status !== 401) {
      throw new BlindpassError('bad_challenge', `the redeemer answered HTTP ${resp.status} to a request without token, want 401`, hints.challenge);
    }
    const chal = await pickChallenge(resp.headers.get('WWW-Authenticate'), this.issuerURL, this.redeemerURL);
    if (chal.tokenKey) {
      let dir = await this.directory();
      if (!dir.keys.some((k) => chal.tokenKey && toHex(k.spki) === toHex(chal.tokenKey))) {
        dir = await this.directory(true); // a rotation: read the directory again before refusing
      }
      checkChallengeKey(dir, chal.tokenKey);
    }
    return chal;
  }

  /**
   * The redeemer's challenge, checked: the first one seen is remembered in
   * the wallet (as the CLI does); a redeemer answering with another one is
   * refused with ChallengeChangedError until trustChallenge accepts it.
   * Asking also proves the redeemer answers before any token leaves.
   */
  async challenge(): Promise<Challenge> {
    const current = await this.probeChallenge();
    const origin = this.redeemerOrigin;
    const b64 = toBase64(current.raw);
    let rec = await this.wallet.rememberedChallenge(origin);
    if (!rec) {
      rec = await this.wallet.rememberChallenge({ redeemer: origin, challenge: b64, trusted: new Date(this.now()).toISOString() }, false);
    }
    if (rec.offered !== undefined || rec.challenge !== b64) {
      if (rec.offered === undefined) await this.wallet.markChallengeOffered(origin, b64);
      throw new ChallengeChangedError(origin, toHex(await sha256(fromBase64(rec.challenge))),
        toHex(await sha256(fromBase64(rec.offered ?? b64))));
    }
    this.chal = current;
    return current;
  }

  /**
   * Accepts the redeemer's current challenge in place of the remembered
   * one, after the person compared it out of band: with expectDigest (at
   * least 16 hex digits) its SHA-256 must start with it. Tokens made for the
   * old challenge stay in the wallet but are not spent at this redeemer.
   */
  async trustChallenge(expectDigest?: string): Promise<{ digest: string; changed: boolean }> {
    const current = await this.probeChallenge();
    const digest = toHex(current.digest);
    if (expectDigest !== undefined) {
      const e = expectDigest.toLowerCase();
      if (!/^[0-9a-f]{16,64}$/.test(e) || !digest.startsWith(e)) {
        throw new BlindpassError('challenge_changed', `the redeemer's challenge digest ${digest} does not match ${expectDigest}`,
          'Do not accept it: it is not the challenge the operator published.');
      }
    }
    const origin = this.redeemerOrigin;
    const b64 = toBase64(current.raw);
    const before = await this.wallet.rememberedChallenge(origin);
    await this.wallet.rememberChallenge({ redeemer: origin, challenge: b64, trusted: new Date(this.now()).toISOString() }, true);
    this.chal = current;
    return { digest, changed: before?.challenge !== b64 };
  }

  /** Usable tokens for this redeemer (all tokens before its challenge is known). */
  async balance(): Promise<number> {
    return this.wallet.balance(this.chal?.digestB64, this.now() + this.opts.expiryMarginMs);
  }

  /** The gateway's models and their costs. */
  async models(): Promise<Model[]> {
    const resp = await this.redeemerFetch(this.redeemerURL + '/v1/models', { headers: { Accept: 'application/json' } });
    if (!resp.ok) throw await problemError(resp);
    const body = (await resp.json()) as { data?: Model[] };
    return (body.data ?? []).map((m) => ({ id: m.id, cost: m.cost ?? 0 }));
  }

  /**
   * Sends a request to the redeemer paying cost tokens, like fetch. The
   * body must be a string (it is hashed to recognise an exact retry).
   *
   * Tokens held for exactly this request (an earlier attempt got no complete
   * answer) are sent again; otherwise fresh ones are drawn at random. The
   * rules are the Go client's (client/spend.go):
   *   - Blindpass-Tokens-Consumed: false (the header, or tokens_consumed:
   *     false in the OpenAI or problem+json error body) puts them back in
   *     the wallet. It is the only answer that does. Except a 503
   *     store-unavailable to tokens sent before with this request (an
   *     earlier spend() or the network retry below): it says only that this
   *     attempt spent nothing, so they stay held for this request.
   *   - 409 token-already-spent or replay-limit, and a 401 refusal, drop them
   *     (a 401 with another challenge to fresh tokens gives them back).
   *   - anything else (an error status with true, replayed, unknown or no
   *     header at all, such as a proxy's 502; a 2xx answer not read to its
   *     end; a stream without data: [DONE]) holds them for this exact
   *     request (method, URL, body) until the replay window, counted from
   *     their first send, is about to end: a retry sends the same tokens,
   *     so the redeemer replays the answer or spends them once. Only a
   *     complete answer (a 2xx body read to its end; for a stream, to
   *     data: [DONE]) ends the hold: the next identical request pays again.
   * A network error is retried once with the exact same request; with still
   * no answer the tokens are held for an exact retry (RedeemerUnreachableError).
   */
  async spend(path: string, init: RequestInit & { body?: string }, o: SpendOptions): Promise<SpendResult> {
    const url = new URL(path, this.redeemerURL + '/').href;
    const method = (init.method ?? 'GET').toUpperCase();
    const request = await requestKey(method, url, init.body);
    if (o.cost <= 0) {
      return { response: await this.redeemerFetch(url, { ...init, signal: o.signal ?? null }), outcome: 'none', request };
    }
    // Learning the challenge also checks that the redeemer answers before any token leaves.
    const chal = await this.challenge();
    const held = await this.wallet.takeHeldEntry(request, this.now());
    let tokens: WalletToken[];
    // fresh: drawn from the wallet for this attempt, never sent before.
    let fresh: boolean;
    // until: when the hold of these tokens ends, fixed by their first send.
    let until: number | undefined;
    if (held && held.tokens.length === o.cost && held.tokens.every((t) => t.challenge_digest === chal.digestB64)) {
      tokens = held.tokens;
      fresh = false;
      until = held.until;
    } else {
      // Held tokens that no longer fit this request (another cost, a new
      // challenge) may not go out with any other request: they are dropped.
      const got = await this.wallet.take(o.cost, chal.digestB64, this.now() + this.opts.expiryMarginMs);
      if (got.tokens.length < o.cost) throw new NoTokensError(got.available, o.cost);
      tokens = got.tokens;
      fresh = true;
    }
    const headers = new Headers(init.headers);
    headers.set('Authorization', formatAuthorization(tokens.map((t) => fromBase64(t.token))));
    let response: Response | undefined;
    let lastErr: unknown;
    for (let attempt = 0; attempt < 2 && !response; attempt++) {
      // A failed first attempt may have reached the redeemer and spent them.
      if (attempt > 0) fresh = false;
      until ??= this.now() + this.opts.replayWindowMs - Math.min(REPLAY_MARGIN_MS, this.opts.replayWindowMs / 10);
      try {
        response = await this.f(url, { ...init, method, headers, signal: o.signal ?? null });
      } catch (e) {
        lastErr = e;
        if (isAbort(e)) break;
      }
    }
    if (!response) {
      await this.wallet.hold(request, tokens, until!);
      if (isAbort(lastErr)) throw lastErr;
      throw new RedeemerUnreachableError(this.redeemerURL, (lastErr as Error)?.message ?? 'no answer', true, { cause: lastErr });
    }
    const settled = await this.settle(response, chal, { request, tokens, fresh, until: until! });
    void this.maybeRefill();
    return { ...settled, request };
  }

  /** Applies the rules of spend to an answer; a held 2xx answer comes back watched for its end. */
  private async settle(resp: Response, chal: Challenge, h: { request: string; tokens: WalletToken[]; fresh: boolean; until: number }):
    Promise<{ response: Response; outcome: TokensOutcome }> {
    let consumed = resp.headers.get('Blindpass-Tokens-Consumed');
    let code = '';
    if (resp.status >= 400) {
      const p = await readProblem(resp);
      if (consumed === null && p.tokensConsumed !== undefined) consumed = String(p.tokensConsumed);
      code = (p.type ? (p.type.split('/').pop() ?? '') : p.code).replace(/_/g, '-');
    }
    if (consumed === 'false' && !(code === 'store-unavailable' && !h.fresh)) {
      await this.wallet.put(h.tokens);
      return { response: resp, outcome: 'returned' };
    }
    if (resp.status === 409 && (code === 'token-already-spent' || code === 'replay-limit')) {
      return { response: resp, outcome: consumed === 'true' ? 'spent' : 'dropped' };
    }
    if (resp.status === 401 && consumed !== 'false') {
      try {
        const other = await pickChallenge(resp.headers.get('WWW-Authenticate'));
        if (other.digestB64 !== chal.digestB64) {
          // Another challenge: these tokens, never sent before, may be good
          // elsewhere, and no more are sent here until the person accepts
          // the new one.
          if (h.fresh) {
            await this.wallet.put(h.tokens);
            await this.wallet.markChallengeOffered(this.redeemerOrigin, toBase64(other.raw));
            return { response: resp, outcome: 'returned' };
          }
          await this.wallet.markChallengeOffered(this.redeemerOrigin, toBase64(other.raw));
        }
      } catch {
        /* no usable challenge: the tokens were refused */
      }
      return { response: resp, outcome: 'dropped' };
    }
    // No complete answer yet: the tokens may be spent, so they may go out
    // again only with this exact request, until the replay window ends.
    await this.wallet.hold(h.request, h.tokens, h.until);
    if (resp.status < 200 || resp.status >= 300) return { response: resp, outcome: 'held' };
    return { response: await this.watchEnd(resp, h.request, h.tokens), outcome: consumed === 'replayed' ? 'replayed' : 'spent' };
  }

  /**
   * The 2xx answer resp with its body watched: read to its end (for
   * text/event-stream, to the line data: [DONE]) it ends the hold of the
   * tokens, which are then spent; cut, cancelled or left unread, the tokens
   * stay held for an exact retry.
   */
  private async watchEnd(resp: Response, request: string, tokens: WalletToken[]): Promise<Response> {
    const release = () => this.wallet.releaseHeld(request, tokens).catch(() => undefined);
    if (!resp.body || NULL_BODY.has(resp.status)) {
      await release();
      return resp;
    }
    const stream = (resp.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase() === 'text/event-stream';
    const src = resp.body.getReader();
    const dec = new TextDecoder();
    let line = '';
    let complete = false;
    // Looks for the line "data: [DONE]" (or "data:[DONE]"); lines are kept to 16 characters.
    const sawDone = (b: Uint8Array): boolean => {
      let found = false;
      for (const ch of dec.decode(b, { stream: true })) {
        if (ch === '\n') {
          const l = line.replace(/\r$/, '');
          if (l === 'data: [DONE]' || l === 'data:[DONE]') found = true;
          line = '';
        } else if (line.length <= 16) {
          line += ch;
        }
      }
      return found;
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await src.read();
        } catch (e) {
          c.error(e);
          return;
        }
        if (r.done) {
          if (!stream && !complete) {
            complete = true;
            await release();
          }
          c.close();
          return;
        }
        // Released before the reader sees the end, so a caller that read it
        // finds the wallet settled.
        if (stream && !complete && sawDone(r.value)) {
          complete = true;
          await release();
        }
        c.enqueue(r.value);
      },
      cancel(reason) {
        return src.cancel(reason);
      },
    }, { highWaterMark: 0 });
    const out = new Response(body, { status: resp.status, statusText: resp.statusText, headers: resp.headers });
    Object.defineProperty(out, 'url', { value: resp.url });
    return out;
  }

  /** fetch() against the redeemer paying cost tokens; see spend. */
  async fetch(path: string, init: RequestInit & { body?: string } = {}, cost = 0): Promise<Response> {
    return (await this.spend(path, init, { cost })).response;
  }

  /**
   * Sends an OpenAI chat completion request with stream: true, paying cost
   * tokens, and calls onDelta with each piece of the answer; returns the
   * whole answer. A cut stream holds the tokens for an exact retry (call
   * chat again with the same body) and throws StreamCutError.
   */
  async chat(body: Record<string, unknown>, o: SpendOptions & { onDelta?: (text: string) => void }): Promise<string> {
    const json = JSON.stringify({ ...body, stream: true });
    const { response } = await this.spend('/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: json,
    }, o);
    if (!response.ok) throw await problemError(response);
    if (!response.body) throw new StreamCutError('the answer has no body');
    let text = '';
    try {
      for await (const data of sseData(response.body)) {
        const chunk = JSON.parse(data) as ChatChunk;
        const delta = chunk.choices?.[0]?.delta?.content ?? '';
        if (delta) {
          text += delta;
          o.onDelta?.(delta);
        }
      }
    } catch (e) {
      if (e instanceof StreamCutError || e instanceof TypeError) {
        // The tokens bought this answer but it did not reach [DONE]: they
        // stay held (spend) for an exact retry, which the redeemer serves
        // again without spending more.
        await response.body.cancel().catch(() => undefined);
        throw e instanceof StreamCutError ? e : new StreamCutError(`the answer was cut off: ${(e as Error).message}`);
      }
      throw e;
    }
    return text;
  }
}

/** The wallet record of a finalized token. */
export function walletToken(t: Token, key: DirectoryKey, chal: Challenge): WalletToken {
  const w: WalletToken = {
    issuer_name: chal.challenge.issuerName,
    token_key_id: toBase64(key.id),
    token: toBase64(t.serialize()),
    challenge_digest: chal.digestB64,
  };
  if (key.redeemUntil !== undefined) w.redeem_until = new Date(key.redeemUntil * 1000).toISOString().replace('.000Z', 'Z');
  if (chal.challenge.originInfo && chal.challenge.originInfo.length > 0) w.origin_info = chal.challenge.originInfo;
  return w;
}

/** Parses a wallet token's bytes with privacypass-ts. */
export function parseWalletToken(w: WalletToken): Token {
  return Token.deserialize(TOKEN_TYPES.BLIND_RSA, fromBase64(w.token));
}
