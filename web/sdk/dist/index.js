// sdk/src/client.ts
import { Token as Token2, TOKEN_TYPES as TOKEN_TYPES2 } from "@cloudflare/privacypass-ts";

// sdk/src/bytes.ts
var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function toBase64(b) {
  let out = "";
  for (let i = 0; i < b.length; i += 3) {
    const n = b[i] << 16 | (b[i + 1] ?? 0) << 8 | (b[i + 2] ?? 0);
    out += B64[n >> 18 & 63] + B64[n >> 12 & 63];
    out += i + 1 < b.length ? B64[n >> 6 & 63] : "=";
    out += i + 2 < b.length ? B64[n & 63] : "=";
  }
  return out;
}
function fromBase64(s) {
  const clean = s.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(clean) || clean.length % 4 === 1) {
    throw new Error("not base64");
  }
  const out = new Uint8Array(Math.floor(clean.length * 3 / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (const ch of clean) {
    acc = acc << 6 | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = acc >> bits & 255;
    }
  }
  return out;
}
function toBase64URL(b, pad = true) {
  const s = toBase64(b).replace(/\+/g, "-").replace(/\//g, "_");
  return pad ? s : s.replace(/=+$/, "");
}
function toHex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
function fromHex(s) {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error("not hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
async function sha256(b) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", b));
}
function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}
function randomIndex(n) {
  if (n <= 0) throw new Error("randomIndex of nothing");
  const limit = Math.floor(4294967296 / n) * n;
  const buf = new Uint32Array(1);
  for (; ; ) {
    crypto.getRandomValues(buf);
    if (buf[0] < limit) return buf[0] % n;
  }
}
function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
var utf8 = new TextEncoder();

// sdk/src/challenge.ts
import { TokenChallenge, WWWAuthenticateHeader } from "@cloudflare/privacypass-ts";

// sdk/src/errors.ts
var BlindpassError = class extends Error {
  /** A stable machine-readable kind. */
  code;
  /** One sentence for a person: what to do now. */
  hint;
  constructor(code, message, hint, options) {
    super(message, options);
    this.name = "BlindpassError";
    this.code = code;
    this.hint = hint;
  }
};
var NoTokensError = class extends BlindpassError {
  have;
  need;
  constructor(have, need) {
    super(
      "no_tokens",
      `not enough tokens: this request costs ${need}, the wallet has ${have}`,
      "Buy a plan, or wait for the refill of an order that still has credit."
    );
    this.have = have;
    this.need = need;
  }
};
var RedeemerUnreachableError = class extends BlindpassError {
  url;
  constructor(url, detail, held = false, options) {
    super(
      "redeemer_unreachable",
      `the redeemer at ${url} does not answer: ${detail}`,
      held ? "Your tokens are kept for this exact message: press Retry when the service is back (within 5 minutes)." : "No token was spent. Check your connection or try again in a minute.",
      options
    );
    this.url = url;
  }
};
var IssuerUnreachableError = class extends BlindpassError {
  url;
  constructor(url, detail, options) {
    super(
      "issuer_unreachable",
      `the issuer at ${url} does not answer: ${detail}`,
      "Your order is saved in this browser; try again in a minute to fetch its tokens.",
      options
    );
    this.url = url;
  }
};
var ProblemError = class extends BlindpassError {
  status;
  type;
  detail;
  /** What the server said happened to the tokens of the request, when it said. */
  tokensConsumed;
  constructor(code, status, type, detail, hint, tokensConsumed) {
    super(code, `HTTP ${status}${detail ? ": " + detail : ""}`, hint);
    this.status = status;
    this.type = type;
    this.detail = detail;
    this.tokensConsumed = tokensConsumed;
  }
};
var ChallengeChangedError = class extends BlindpassError {
  redeemer;
  /** Hex SHA-256 of the remembered and of the offered challenge. */
  rememberedDigest;
  offeredDigest;
  constructor(redeemer, rememberedDigest, offeredDigest) {
    super(
      "challenge_changed",
      `the redeemer's token challenge changed (remembered ${rememberedDigest.slice(0, 16)}…, now ${offeredDigest.slice(0, 16)}…)`,
      "Nothing was sent. If the operator announced a new challenge, compare its digest with the one they publish, then accept it."
    );
    this.redeemer = redeemer;
    this.rememberedDigest = rememberedDigest;
    this.offeredDigest = offeredDigest;
  }
};
var StreamCutError = class extends BlindpassError {
  constructor(message) {
    super(
      "stream_cut",
      message,
      "Retry this exact message within 5 minutes: the same tokens are sent again and no more are spent."
    );
  }
};
var hints = {
  directory: "The issuer publishes a directory this client refuses; do not buy from it until the operator fixes it.",
  keyNotListed: "The redeemer named a key the issuer does not list (a possible tracking attempt); the tokens were not sent.",
  challenge: "The redeemer did not send a usable Privacy Pass challenge; check the redeemer URL.",
  issuance: "The issuer sent tokens that do not verify; they were not stored. Try again later.",
  spent: "These tokens were already spent; they were removed from the wallet.",
  server: "The service refused the request; the details say why.",
  unknownSecret: "The issuer does not know this order; check the issuer URL.",
  notPaid: "The order is not paid yet: finish the checkout, then come back.",
  noCredit: "All tokens of this order were fetched already.",
  walletFile: "This file is not a Blindpass wallet export; use `blindpass wallet export --plain FILE`."
};

// sdk/src/directory.ts
var DIRECTORY_PATH = "/.well-known/private-token-issuer-directory";
var MAX_DIRECTORY_KEYS = 3;
var TOKEN_TYPE_BLIND_RSA = 2;
function badDirectory(msg) {
  return new BlindpassError("bad_directory", `unacceptable issuer directory: ${msg}`, hints.directory);
}
async function parseDirectory(issuerURL, body) {
  if (typeof body !== "object" || body === null) throw badDirectory("not a JSON object");
  const d = body;
  const uri = d["issuer-request-uri"];
  if (typeof uri !== "string" || uri.trim() === "") throw badDirectory("no issuer-request-uri");
  const list = d["token-keys"];
  if (!Array.isArray(list)) throw badDirectory("no token-keys list");
  if (list.length > MAX_DIRECTORY_KEYS) {
    throw badDirectory(`${list.length} keys, at most ${MAX_DIRECTORY_KEYS} allowed (a directory with more could tag its users)`);
  }
  const base = new URL(issuerURL);
  let request;
  try {
    request = new URL(uri, base);
  } catch {
    throw badDirectory(`issuer-request-uri ${JSON.stringify(uri)} is not a URL`);
  }
  if (request.origin !== base.origin) {
    throw badDirectory(`issuer-request-uri ${request} is not on the issuer's origin ${base.origin}; the order secret is only sent to the issuer`);
  }
  const keys = [];
  for (const [i, k] of list.entries()) {
    if (typeof k !== "object" || k === null) throw badDirectory(`token-keys[${i}] is not an object`);
    const e = k;
    if (e["token-type"] !== TOKEN_TYPE_BLIND_RSA) continue;
    if (typeof e["token-key"] !== "string") throw badDirectory(`token-keys[${i}] has no token-key`);
    let spki;
    try {
      spki = fromBase64(e["token-key"]);
    } catch {
      throw badDirectory(`token-keys[${i}]: token-key is not base64url`);
    }
    if (spki.length < 256) throw badDirectory(`token-keys[${i}] is not an RSA-2048 key`);
    const key = { id: await sha256(spki), spki };
    if (typeof e["not-before"] === "number" && e["not-before"] > 0) key.notBefore = e["not-before"];
    if (typeof e["redeem-until"] === "number" && e["redeem-until"] > 0) key.redeemUntil = e["redeem-until"];
    if (keys.some((o) => equalBytes(o.id, key.id))) throw badDirectory(`token-keys[${i}] is listed twice`);
    keys.push(key);
  }
  if (keys.length === 0) throw badDirectory(`${issuerURL} lists no type 0x0002 key`);
  return { issuerURL: base.href.replace(/\/$/, ""), requestURL: request.href, keys };
}
function issuingKeys(d, nowSeconds) {
  return d.keys.filter((k) => (k.notBefore === void 0 || nowSeconds >= k.notBefore) && (k.redeemUntil === void 0 || nowSeconds < k.redeemUntil)).sort((a, b) => (b.notBefore ?? 0) - (a.notBefore ?? 0));
}
function checkChallengeKey(d, tokenKey) {
  if (!tokenKey || tokenKey.length === 0) return;
  if (!d.keys.some((k) => equalBytes(k.spki, tokenKey))) {
    throw new BlindpassError(
      "key_not_listed",
      `the redeemer's token key is not in the directory of ${d.issuerURL}`,
      hints.keyNotListed
    );
  }
}

// sdk/src/challenge.ts
function badChallenge(msg) {
  return new BlindpassError("bad_challenge", `unusable redeemer challenge: ${msg}`, hints.challenge);
}
function canonicalHost(hostport, scheme) {
  const h = hostport.toLowerCase();
  const m = /^(.*):(\d+)$/.exec(h);
  if (m && (scheme === "https:" && m[2] === "443" || scheme === "http:" && m[2] === "80")) return m[1];
  return h;
}
function challengeProblem(c, issuerURL, redeemerURL) {
  if (c.tokenType !== TOKEN_TYPE_BLIND_RSA) return `token type 0x${c.tokenType.toString(16).padStart(4, "0")}, want 0x0002`;
  if (c.redemptionContext.length !== 0) return "the redemption context is not empty (a per-request challenge; tokens here are fetched ahead of use)";
  if (c.issuerName === "") return "no issuer name";
  if (issuerURL) {
    const u = new URL(issuerURL);
    if (canonicalHost(c.issuerName, u.protocol) !== canonicalHost(u.host, u.protocol)) {
      return `the challenge names issuer ${JSON.stringify(c.issuerName)}, not the issuer ${u.host}`;
    }
  }
  if (redeemerURL) {
    const u = new URL(redeemerURL);
    if (!(c.originInfo ?? []).some((o) => canonicalHost(o, u.protocol) === canonicalHost(u.host, u.protocol))) {
      return `the challenge's origin names ${JSON.stringify((c.originInfo ?? []).join(","))} do not include the redeemer ${u.host}`;
    }
  }
  return void 0;
}
async function challengeFromBytes(raw, tokenKey) {
  const c = TokenChallenge.deserialize(raw);
  const digest = await sha256(raw);
  const out = { challenge: c, raw, digest, digestB64: toBase64(digest) };
  if (tokenKey && tokenKey.length > 0) out.tokenKey = tokenKey;
  return out;
}
async function pickChallenge(header, issuerURL, redeemerURL) {
  if (!header) throw badChallenge("no WWW-Authenticate header");
  let parsed;
  try {
    parsed = WWWAuthenticateHeader.parse(header);
  } catch (e) {
    throw badChallenge(`malformed WWW-Authenticate: ${e.message}`);
  }
  let first;
  for (const h of parsed) {
    const problem = challengeProblem(h.challenge, issuerURL, redeemerURL);
    if (problem) {
      first ??= problem;
      continue;
    }
    return challengeFromBytes(h.challenge.serialize(), h.tokenKey);
  }
  throw badChallenge(first ?? "no PrivateToken challenge");
}

// sdk/src/issuance.ts
import { RSABSSA } from "@cloudflare/blindrsa-ts";
import { AuthenticatorInput, genericBatched, publicVerif, Token, TOKEN_TYPES, util } from "@cloudflare/privacypass-ts";
var { BlindRSAMode, Client: Type2Client, Origin } = publicVerif;
var MEDIA_BATCH_REQUEST = "application/private-token-generic-batch-request";
var MEDIA_BATCH_RESPONSE = "application/private-token-generic-batch-response";
async function buildBatch(key, challenge, n) {
  const clients = [];
  const reqs = [];
  for (let i = 0; i < n; i++) {
    const c = new Type2Client(BlindRSAMode.PSS);
    reqs.push(new genericBatched.TokenRequest(await c.createTokenRequest(challenge, key.spki)));
    clients.push(c);
  }
  const body = new genericBatched.BatchedTokenRequest(reqs).serialize();
  return { body, clients, key, challenge };
}
function importVerifyKey(spki) {
  return crypto.subtle.importKey(
    "spki",
    util.convertRSASSAPSSToEnc(spki),
    { name: "RSA-PSS", hash: "SHA-384" },
    true,
    ["verify"]
  );
}
async function verifyToken(token, key, challengeDigest, verifyKey) {
  if (token.authInput.tokenType !== 2 || !equalBytes(token.authInput.tokenKeyId, key.id) || !equalBytes(token.authInput.challengeDigest, challengeDigest)) {
    return false;
  }
  const pk = verifyKey ?? await importVerifyKey(key.spki);
  try {
    return await new Origin(BlindRSAMode.PSS).verify(token, pk);
  } catch {
    return false;
  }
}
async function finalizeBatch(req, answer, challengeDigest) {
  const resp = genericBatched.GenericBatchTokenResponse.deserialize(answer);
  const responses = resp.tokenResponses;
  if (responses.length !== req.clients.length) {
    throw new Error(`${responses.length} responses to ${req.clients.length} requests`);
  }
  const pk = await importVerifyKey(req.key.spki);
  const out = { tokens: [], missing: 0, bad: 0 };
  for (const [i, r] of responses.entries()) {
    if (r.tokenResponse === null) {
      out.missing++;
      continue;
    }
    try {
      if (r.tokenType !== 2) throw new Error(`token type ${r.tokenType}`);
      const tok = await req.clients[i].finalize(r.tokenResponse);
      if (!await verifyToken(tok, req.key, challengeDigest, pk)) throw new Error("token does not verify under the directory key");
      out.tokens.push(tok);
    } catch (e) {
      out.bad++;
      out.firstError ??= e.message;
    }
  }
  return out;
}
function batchState(req) {
  return req.clients.map((c) => {
    const fin = c.finData;
    if (!fin) throw new Error("token request without its blinding state");
    return { token_input: toBase64(fin.tokenInput), inv: toBase64(fin.inv) };
  });
}
async function finalizePending(elements, key, answer, challengeDigest) {
  const resp = genericBatched.GenericBatchTokenResponse.deserialize(answer);
  if (resp.tokenResponses.length !== elements.length) {
    throw new Error(`${resp.tokenResponses.length} responses to ${elements.length} requests`);
  }
  const pk = await importVerifyKey(key.spki);
  const suite = RSABSSA.SHA384.PSS.Deterministic();
  const out = { tokens: [], missing: 0, bad: 0 };
  for (const [i, r] of resp.tokenResponses.entries()) {
    if (r.tokenResponse === null) {
      out.missing++;
      continue;
    }
    try {
      if (r.tokenType !== 2) throw new Error(`token type ${r.tokenType}`);
      const input = fromBase64(elements[i].token_input);
      const sig = await suite.finalize(pk, input, r.tokenResponse.blindSig, fromBase64(elements[i].inv));
      const auth = AuthenticatorInput.deserialize(TOKEN_TYPES.BLIND_RSA, input.slice(), { bytesRead: 0 });
      const tok = new Token(TOKEN_TYPES.BLIND_RSA, auth, sig);
      if (!await verifyToken(tok, key, challengeDigest, pk)) throw new Error("token does not verify under the directory key");
      out.tokens.push(tok);
    } catch (e) {
      out.bad++;
      out.firstError ??= e.message;
    }
  }
  return out;
}

// sdk/src/sse.ts
async function* sseData(body) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let data = [];
  try {
    for (; ; ) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        if (line === "") {
          if (data.length > 0) {
            const ev = data.join("\n");
            data = [];
            if (ev === "[DONE]") return;
            checkError(ev);
            yield ev;
          }
          continue;
        }
        if (line.startsWith(":")) continue;
        if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
    }
  } finally {
    reader.releaseLock();
  }
  throw new StreamCutError("the answer was cut off before its end");
}
function checkError(ev) {
  if (!ev.startsWith('{"error"')) return;
  let msg = "the answer was cut off";
  try {
    const e = JSON.parse(ev);
    if (e.error?.message) msg = e.error.message;
  } catch {
  }
  throw new StreamCutError(msg);
}

// sdk/src/client.ts
var DEFAULTS = { batchSize: 20, replayWindowMs: 5 * 6e4, expiryMarginMs: 2 * 6e4, refillBelow: 10 };
var REPLAY_MARGIN_MS = 15e3;
var NULL_BODY = /* @__PURE__ */ new Set([101, 103, 204, 205, 304]);
function trimBase(u) {
  const url = new URL(u);
  if (url.protocol !== "http:" && url.protocol !== "https:" || url.search || url.hash || url.username) {
    throw new TypeError(`want http(s)://host[:port][/path], got ${u}`);
  }
  return url.href.replace(/\/+$/, "");
}
async function requestKey(method, url, body) {
  const b = body === void 0 ? new Uint8Array() : typeof body === "string" ? utf8.encode(body) : body;
  return `${method.toUpperCase()} ${url} ${toHex(await sha256(b))}`;
}
function formatAuthorization(tokens) {
  return "PrivateToken " + tokens.map((t) => `token="${toBase64URL(t)}"`).join(", ");
}
async function readProblem(resp) {
  const p = { status: resp.status, type: "", code: "", detail: resp.statusText };
  try {
    const body = await resp.clone().json();
    const err = body["error"];
    if (typeof err === "object" && err !== null) {
      const e = err;
      p.type = String(e["problem_type"] ?? "");
      p.code = String(e["code"] ?? e["type"] ?? "");
      p.detail = String(e["message"] ?? p.detail);
      const tc = e["tokens_consumed"];
      if (tc === true || tc === false || tc === "unknown") p.tokensConsumed = tc;
    } else {
      p.type = String(body["type"] ?? "");
      p.code = p.type.split("/").pop() ?? "";
      p.detail = String(body["detail"] ?? body["title"] ?? p.detail);
      const tc = body["tokens_consumed"];
      if (tc === true || tc === false || tc === "unknown") p.tokensConsumed = tc;
    }
  } catch {
  }
  const h = resp.headers.get("Blindpass-Tokens-Consumed");
  if (h === "true") p.tokensConsumed = true;
  else if (h === "false") p.tokensConsumed = false;
  else if (h === "unknown" || h === "replayed") p.tokensConsumed = h;
  return p;
}
async function problemError(resp) {
  const p = await readProblem(resp);
  const code = p.code.replace(/_/g, "-");
  let kind = "server_error";
  let hint = hints.server;
  switch (code) {
    case "token-already-spent":
    case "replay-limit":
      kind = "token_spent";
      hint = hints.spent;
      break;
    case "unknown-order-secret":
    case "voucher-code-typo":
      kind = "unknown_secret";
      hint = hints.unknownSecret;
      break;
    case "order-not-paid":
      kind = "not_paid";
      hint = hints.notPaid;
      break;
    case "order-frozen":
    case "order-refunded":
    case "order-expired":
      kind = "order_closed";
      hint = "This order can no longer give tokens.";
      break;
    case "insufficient-credit":
      kind = "no_credit";
      hint = hints.noCredit;
      break;
    default:
      if (p.tokensConsumed === false) hint = "The service could not answer; your tokens are back in the wallet. Try again.";
  }
  return new ProblemError(kind, p.status, p.type, p.detail || p.code, hint, p.tokensConsumed);
}
function batchInit(p) {
  return {
    method: "POST",
    headers: {
      "Content-Type": MEDIA_BATCH_REQUEST,
      Accept: MEDIA_BATCH_RESPONSE,
      Authorization: "Bearer " + p.secret,
      "Idempotency-Key": p.idempotency_key
    },
    body: fromBase64(p.body)
  };
}
function isAbort(e) {
  return e instanceof DOMException && e.name === "AbortError";
}
var BlindpassClient = class {
  issuerURL;
  redeemerURL;
  wallet;
  opts;
  f;
  dir;
  chal;
  refillTimer;
  refilling;
  constructor(opts) {
    this.opts = { ...DEFAULTS, ...opts };
    this.issuerURL = trimBase(opts.issuerURL);
    this.redeemerURL = trimBase(opts.redeemerURL);
    this.wallet = opts.wallet;
    const f = opts.fetch ?? globalThis.fetch;
    this.f = (input, init) => f(input, { ...init, credentials: "omit", referrerPolicy: "no-referrer" });
  }
  now() {
    return this.opts.now ? this.opts.now() : Date.now();
  }
  // ---- plumbing --------------------------------------------------------------
  async issuerFetch(url, init, retries = 3) {
    for (let attempt = 0; ; attempt++) {
      try {
        const resp = await this.f(url, init);
        if (resp.status < 500 || attempt >= retries) return resp;
      } catch (e) {
        if (isAbort(e)) throw e;
        if (attempt >= retries) throw new IssuerUnreachableError(this.issuerURL, e.message, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 300 * 2 ** attempt));
    }
  }
  async redeemerFetch(url, init) {
    try {
      return await this.f(url, init);
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new RedeemerUnreachableError(this.redeemerURL, e.message, false, { cause: e });
    }
  }
  // ---- issuer ------------------------------------------------------------------
  /** The issuer's checked directory (cached for 5 minutes). */
  async directory(force = false) {
    if (!force && this.dir && this.now() - this.dir.at < 5 * 6e4) return this.dir.d;
    const resp = await this.issuerFetch(this.issuerURL + DIRECTORY_PATH, {
      headers: { Accept: "application/private-token-issuer-directory, application/json" }
    });
    if (!resp.ok) throw new BlindpassError("bad_directory", `issuer directory: HTTP ${resp.status}`, hints.directory);
    let body;
    try {
      body = await resp.json();
    } catch {
      throw new BlindpassError("bad_directory", "issuer directory: not JSON", hints.directory);
    }
    const d = await parseDirectory(this.issuerURL, body);
    this.dir = { d, at: this.now() };
    return d;
  }
  /** The plans on sale. */
  async plans() {
    const resp = await this.issuerFetch(this.issuerURL + "/v1/plans", { headers: { Accept: "application/json" } });
    if (!resp.ok) throw await problemError(resp);
    return await resp.json();
  }
  /**
   * Creates an order for plan with a fresh 32-byte secret (only its hash is
   * sent) and stores the order in the wallet before returning, so the page
   * may leave for the checkout. Not retried: a lost answer may have made the
   * order; start again with a new secret.
   */
  async createOrder(plan) {
    const secret = randomBytes(32);
    const bearer = toBase64URL(secret, false);
    const hash = toBase64URL(await sha256(secret), false);
    let resp;
    try {
      resp = await this.f(this.issuerURL + "/v1/orders", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ plan, secret_hash: hash })
      });
    } catch (e) {
      throw new IssuerUnreachableError(this.issuerURL, e.message, { cause: e });
    }
    if (resp.status !== 201 && resp.status !== 200) throw await problemError(resp);
    const body = await resp.json();
    if (!body.order_id || !body.checkout_url) throw new BlindpassError("server_error", "the order answer lacks order_id or checkout_url", hints.server);
    const order = { issuer_url: this.issuerURL, order_id: body.order_id, secret: bearer, plan, created: new Date(this.now()).toISOString() };
    await this.wallet.addOrder(order);
    return { order, checkoutURL: new URL(body.checkout_url, this.issuerURL + "/").href };
  }
  /** Asks the issuer about an order (its secret goes only to the issuer, as a Bearer credential). */
  async orderStatus(order) {
    const resp = await this.issuerFetch(order.issuer_url + "/v1/orders/current", {
      headers: { Accept: "application/json", Authorization: "Bearer " + order.secret }
    });
    if (!resp.ok) throw await problemError(resp);
    return await resp.json();
  }
  /** Polls until the order is paid (default every 2 s). An order that ends unpaid throws. */
  async waitPaid(order, o = {}) {
    for (; ; ) {
      o.signal?.throwIfAborted();
      try {
        const st = await this.orderStatus(order);
        o.onStatus?.(st);
        if (st.status === "paid") return st;
        if (st.status === "expired" || st.status === "refunded" || st.status === "frozen") {
          await this.wallet.addOrder({ ...order, exhausted: true });
          throw new BlindpassError("order_closed", `order ${st.order_id} is ${st.status}`, "This order can no longer be paid; buy again.");
        }
      } catch (e) {
        if (!(e instanceof IssuerUnreachableError)) throw e;
      }
      await new Promise((r) => setTimeout(r, o.intervalMs ?? 2e3));
    }
  }
  /**
   * Turns the remaining credit of order into tokens for the redeemer's
   * challenge, in generic batches of batchSize, storing each batch before the
   * next; onProgress sees every stored batch. Returns how many were stored.
   */
  async fetchTokens(order, o = {}) {
    const chal = await this.challenge();
    const dir = await this.directory();
    checkChallengeKey(dir, chal.tokenKey);
    let keys = issuingKeys(dir, this.now() / 1e3);
    if (keys.length === 0) throw new BlindpassError("bad_directory", `no key of ${dir.issuerURL} issues tokens now`, hints.directory);
    let total = o.count ?? 0;
    if (total <= 0) {
      const st = await this.orderStatus(order);
      if (st.status !== "paid") throw new ProblemError("not_paid", 403, "", `order ${st.order_id} is ${st.status}`, hints.notPaid);
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
      const key = keys[0];
      const req = await buildBatch(key, chal.challenge, size);
      const idem = toBase64URL(randomBytes(16), false);
      const pending = {
        issuer_url: this.issuerURL,
        request_url: dir.requestURL,
        secret: order.secret,
        idempotency_key: idem,
        body: toBase64(req.body),
        token_key: toBase64(key.spki),
        challenge: toBase64(chal.raw),
        elements: batchState(req),
        created: new Date(this.now()).toISOString()
      };
      if (key.redeemUntil !== void 0) pending.redeem_until = key.redeemUntil;
      await this.wallet.putPending(pending);
      const resp = await this.issuerFetch(dir.requestURL, batchInit(pending));
      if (resp.status !== 200) {
        const err = await problemError(resp);
        if (resp.status >= 500) throw err;
        await this.wallet.dropPending(idem);
        if (resp.status === 413 && size > 1) {
          batch = Math.max(1, Math.floor(size / 2));
          continue;
        }
        if (err.type.endsWith("/unknown-token-key") && keys.length > 1 && done === 0) {
          keys = keys.slice(1);
          continue;
        }
        if (err.code === "no_credit") await this.wallet.addOrder({ ...order, exhausted: true });
        if (done > 0 && err.code === "no_credit") return done;
        throw err;
      }
      const answer = new Uint8Array(await resp.arrayBuffer());
      let res;
      try {
        res = await finalizeBatch(req, answer, chal.digest);
      } catch (e) {
        await this.wallet.dropPending(idem);
        throw new BlindpassError("bad_issuance", `invalid answer from the issuer: ${e.message}`, hints.issuance);
      }
      done += await this.wallet.completePending(idem, res.tokens.map((t) => walletToken(t, key, chal)));
      o.onProgress?.({ order, done, total });
      if (res.bad > 0 || res.missing > 0) {
        throw new BlindpassError(
          "bad_issuance",
          `invalid answer from the issuer: ${res.bad} tokens do not verify, ${res.missing} missing (${res.firstError ?? ""})`,
          hints.issuance
        );
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
  async resumePending() {
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
      const key = { id: await sha256(spki), spki };
      if (p.redeem_until !== void 0) key.redeemUntil = p.redeem_until;
      const chal = await challengeFromBytes(fromBase64(p.challenge));
      let res;
      try {
        res = await finalizePending(p.elements, key, new Uint8Array(await resp.arrayBuffer()), chal.digest);
      } catch (e) {
        await this.wallet.dropPending(p.idempotency_key);
        throw new BlindpassError("bad_issuance", `invalid answer from the issuer: ${e.message}`, hints.issuance);
      }
      stored += await this.wallet.completePending(p.idempotency_key, res.tokens.map((t) => walletToken(t, key, chal)));
    }
    return stored;
  }
  /** Turns the remaining credit of every order of this issuer into tokens. */
  async refill(onProgress) {
    if (this.refilling) return this.refilling;
    this.refilling = (async () => {
      let stored = await this.resumePending();
      for (const o of await this.wallet.orders()) {
        if (o.issuer_url !== this.issuerURL || o.exhausted) continue;
        let st;
        try {
          st = await this.orderStatus(o);
        } catch (e) {
          if (e instanceof ProblemError && e.code === "unknown_secret") continue;
          throw e;
        }
        if (st.status === "refunded" || st.status === "expired") {
          await this.wallet.addOrder({ ...o, exhausted: true });
          continue;
        }
        if (st.status !== "paid" || st.credits_remaining <= 0) continue;
        stored += await this.fetchTokens(o, { count: st.credits_remaining, onProgress });
      }
      return stored;
    })();
    try {
      return await this.refilling;
    } finally {
      this.refilling = void 0;
    }
  }
  /**
   * Schedules a refill after a random delay when fewer than refillBelow
   * tokens remain (the privacy habit of the CLI: whole batches ahead of
   * need, fetched at a time unrelated to a spend).
   */
  async maybeRefill() {
    if (this.opts.refillBelow <= 0 || this.refillTimer !== void 0) return false;
    if (await this.balance() >= this.opts.refillBelow) return false;
    const hasCredit = (await this.wallet.orders()).some((o) => o.issuer_url === this.issuerURL && !o.exhausted);
    if (!hasCredit) return false;
    const [lo, hi] = this.opts.refillDelayMs ?? [5e3, 6e4];
    const delay = lo + crypto.getRandomValues(new Uint32Array(1))[0] / 4294967296 * (hi - lo);
    this.refillTimer = setTimeout(() => {
      this.refill((progress) => this.opts.onRefill?.({ progress })).then((stored) => this.opts.onRefill?.({ stored }), (error) => this.opts.onRefill?.({ error })).finally(() => {
        this.refillTimer = void 0;
      });
    }, delay);
    return true;
  }
  // ---- redeemer ----------------------------------------------------------------
  /** The redeemer's origin, the key of its remembered challenge. */
  get redeemerOrigin() {
    return new URL(this.redeemerURL).origin.toLowerCase();
  }
  /**
   * Asks the redeemer for its current challenge (POST /v1/redeem without a
   * token answers 401 with it), checks it against the issuer and the
   * redeemer (challengeProblem) and its key against the issuer's directory.
   */
  async probeChallenge() {
    const resp = await this.redeemerFetch(this.redeemerURL + "/v1/redeem", { method: "POST" });
    if (resp.status !== 401) {
      throw new BlindpassError("bad_challenge", `the redeemer answered HTTP ${resp.status} to a request without token, want 401`, hints.challenge);
    }
    const chal = await pickChallenge(resp.headers.get("WWW-Authenticate"), this.issuerURL, this.redeemerURL);
    if (chal.tokenKey) {
      let dir = await this.directory();
      if (!dir.keys.some((k) => chal.tokenKey && toHex(k.spki) === toHex(chal.tokenKey))) {
        dir = await this.directory(true);
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
  async challenge() {
    const current = await this.probeChallenge();
    const origin = this.redeemerOrigin;
    const b64 = toBase64(current.raw);
    let rec = await this.wallet.rememberedChallenge(origin);
    if (!rec) {
      rec = await this.wallet.rememberChallenge({ redeemer: origin, challenge: b64, trusted: new Date(this.now()).toISOString() }, false);
    }
    if (rec.offered !== void 0 || rec.challenge !== b64) {
      if (rec.offered === void 0) await this.wallet.markChallengeOffered(origin, b64);
      throw new ChallengeChangedError(
        origin,
        toHex(await sha256(fromBase64(rec.challenge))),
        toHex(await sha256(fromBase64(rec.offered ?? b64)))
      );
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
  async trustChallenge(expectDigest) {
    const current = await this.probeChallenge();
    const digest = toHex(current.digest);
    if (expectDigest !== void 0) {
      const e = expectDigest.toLowerCase();
      if (!/^[0-9a-f]{16,64}$/.test(e) || !digest.startsWith(e)) {
        throw new BlindpassError(
          "challenge_changed",
          `the redeemer's challenge digest ${digest} does not match ${expectDigest}`,
          "Do not accept it: it is not the challenge the operator published."
        );
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
  async balance() {
    return this.wallet.balance(this.chal?.digestB64, this.now() + this.opts.expiryMarginMs);
  }
  /** The gateway's models and their costs. */
  async models() {
    const resp = await this.redeemerFetch(this.redeemerURL + "/v1/models", { headers: { Accept: "application/json" } });
    if (!resp.ok) throw await problemError(resp);
    const body = await resp.json();
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
  async spend(path, init, o) {
    const url = new URL(path, this.redeemerURL + "/").href;
    const method = (init.method ?? "GET").toUpperCase();
    const request = await requestKey(method, url, init.body);
    if (o.cost <= 0) {
      return { response: await this.redeemerFetch(url, { ...init, signal: o.signal ?? null }), outcome: "none", request };
    }
    const chal = await this.challenge();
    const held = await this.wallet.takeHeldEntry(request, this.now());
    let tokens;
    let fresh;
    let until;
    if (held && held.tokens.length === o.cost && held.tokens.every((t) => t.challenge_digest === chal.digestB64)) {
      tokens = held.tokens;
      fresh = false;
      until = held.until;
    } else {
      const got = await this.wallet.take(o.cost, chal.digestB64, this.now() + this.opts.expiryMarginMs);
      if (got.tokens.length < o.cost) throw new NoTokensError(got.available, o.cost);
      tokens = got.tokens;
      fresh = true;
    }
    const headers = new Headers(init.headers);
    headers.set("Authorization", formatAuthorization(tokens.map((t) => fromBase64(t.token))));
    let response;
    let lastErr;
    for (let attempt = 0; attempt < 2 && !response; attempt++) {
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
      await this.wallet.hold(request, tokens, until);
      if (isAbort(lastErr)) throw lastErr;
      throw new RedeemerUnreachableError(this.redeemerURL, lastErr?.message ?? "no answer", true, { cause: lastErr });
    }
    const settled = await this.settle(response, chal, { request, tokens, fresh, until });
    void this.maybeRefill();
    return { ...settled, request };
  }
  /** Applies the rules of spend to an answer; a held 2xx answer comes back watched for its end. */
  async settle(resp, chal, h) {
    let consumed = resp.headers.get("Blindpass-Tokens-Consumed");
    let code = "";
    if (resp.status >= 400) {
      const p = await readProblem(resp);
      if (consumed === null && p.tokensConsumed !== void 0) consumed = String(p.tokensConsumed);
      code = (p.type ? p.type.split("/").pop() ?? "" : p.code).replace(/_/g, "-");
    }
    if (consumed === "false" && !(code === "store-unavailable" && !h.fresh)) {
      await this.wallet.put(h.tokens);
      return { response: resp, outcome: "returned" };
    }
    if (resp.status === 409 && (code === "token-already-spent" || code === "replay-limit")) {
      return { response: resp, outcome: consumed === "true" ? "spent" : "dropped" };
    }
    if (resp.status === 401 && consumed !== "false") {
      try {
        const other = await pickChallenge(resp.headers.get("WWW-Authenticate"));
        if (other.digestB64 !== chal.digestB64) {
          if (h.fresh) {
            await this.wallet.put(h.tokens);
            await this.wallet.markChallengeOffered(this.redeemerOrigin, toBase64(other.raw));
            return { response: resp, outcome: "returned" };
          }
          await this.wallet.markChallengeOffered(this.redeemerOrigin, toBase64(other.raw));
        }
      } catch {
      }
      return { response: resp, outcome: "dropped" };
    }
    await this.wallet.hold(h.request, h.tokens, h.until);
    if (resp.status < 200 || resp.status >= 300) return { response: resp, outcome: "held" };
    return { response: await this.watchEnd(resp, h.request, h.tokens), outcome: consumed === "replayed" ? "replayed" : "spent" };
  }
  /**
   * The 2xx answer resp with its body watched: read to its end (for
   * text/event-stream, to the line data: [DONE]) it ends the hold of the
   * tokens, which are then spent; cut, cancelled or left unread, the tokens
   * stay held for an exact retry.
   */
  async watchEnd(resp, request, tokens) {
    const release = () => this.wallet.releaseHeld(request, tokens).catch(() => void 0);
    if (!resp.body || NULL_BODY.has(resp.status)) {
      await release();
      return resp;
    }
    const stream = (resp.headers.get("Content-Type") ?? "").split(";")[0].trim().toLowerCase() === "text/event-stream";
    const src = resp.body.getReader();
    const dec = new TextDecoder();
    let line = "";
    let complete = false;
    const sawDone = (b) => {
      let found = false;
      for (const ch of dec.decode(b, { stream: true })) {
        if (ch === "\n") {
          const l = line.replace(/\r$/, "");
          if (l === "data: [DONE]" || l === "data:[DONE]") found = true;
          line = "";
        } else if (line.length <= 16) {
          line += ch;
        }
      }
      return found;
    };
    const body = new ReadableStream({
      async pull(c) {
        let r;
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
        if (stream && !complete && sawDone(r.value)) {
          complete = true;
          await release();
        }
        c.enqueue(r.value);
      },
      cancel(reason) {
        return src.cancel(reason);
      }
    }, { highWaterMark: 0 });
    const out = new Response(body, { status: resp.status, statusText: resp.statusText, headers: resp.headers });
    Object.defineProperty(out, "url", { value: resp.url });
    return out;
  }
  /** fetch() against the redeemer paying cost tokens; see spend. */
  async fetch(path, init = {}, cost = 0) {
    return (await this.spend(path, init, { cost })).response;
  }
  /**
   * Sends an OpenAI chat completion request with stream: true, paying cost
   * tokens, and calls onDelta with each piece of the answer; returns the
   * whole answer. A cut stream holds the tokens for an exact retry (call
   * chat again with the same body) and throws StreamCutError.
   */
  async chat(body, o) {
    const json = JSON.stringify({ ...body, stream: true });
    const { response } = await this.spend("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: json
    }, o);
    if (!response.ok) throw await problemError(response);
    if (!response.body) throw new StreamCutError("the answer has no body");
    let text = "";
    try {
      for await (const data of sseData(response.body)) {
        const chunk = JSON.parse(data);
        const delta = chunk.choices?.[0]?.delta?.content ?? "";
        if (delta) {
          text += delta;
          o.onDelta?.(delta);
        }
      }
    } catch (e) {
      if (e instanceof StreamCutError || e instanceof TypeError) {
        await response.body.cancel().catch(() => void 0);
        throw e instanceof StreamCutError ? e : new StreamCutError(`the answer was cut off: ${e.message}`);
      }
      throw e;
    }
    return text;
  }
};
function walletToken(t, key, chal) {
  const w = {
    issuer_name: chal.challenge.issuerName,
    token_key_id: toBase64(key.id),
    token: toBase64(t.serialize()),
    challenge_digest: chal.digestB64
  };
  if (key.redeemUntil !== void 0) w.redeem_until = new Date(key.redeemUntil * 1e3).toISOString().replace(".000Z", "Z");
  if (chal.challenge.originInfo && chal.challenge.originInfo.length > 0) w.origin_info = chal.challenge.originInfo;
  return w;
}
function parseWalletToken(w) {
  return Token2.deserialize(TOKEN_TYPES2.BLIND_RSA, fromBase64(w.token));
}

// sdk/src/wallet.ts
import { openDB } from "idb";

// sdk/src/lock.ts
var local = /* @__PURE__ */ new Map();
function localLock(name, fn) {
  const prev = local.get(name) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  local.set(name, run.catch(() => void 0));
  return run;
}
function defaultLocks() {
  const nav = globalThis.navigator;
  const locks = nav?.locks;
  if (locks && typeof locks.request === "function") {
    return (name, fn) => locks.request(name, fn);
  }
  return localLock;
}

// sdk/src/wallet.ts
var WALLET_VERSION = 1;
var LOCK = "blindpass-wallet";
function badFile(msg) {
  return new BlindpassError("bad_wallet_file", `not a usable wallet file: ${msg}`, hints.walletFile);
}
function checkToken(t) {
  if (typeof t !== "object" || t === null) throw badFile("a token is not an object");
  const r = t;
  const str = (k) => {
    if (typeof r[k] !== "string") throw badFile(`a token lacks ${k}`);
    return r[k];
  };
  const token = str("token");
  const keyId = str("token_key_id");
  const digest = str("challenge_digest");
  const issuer = typeof r["issuer_name"] === "string" ? r["issuer_name"] : "";
  let lens;
  try {
    lens = [fromBase64(token).length, fromBase64(keyId).length, fromBase64(digest).length];
  } catch {
    throw badFile("a token field is not base64");
  }
  if (lens[0] === 0) throw badFile("a token is empty");
  if (lens[1] !== 32) throw badFile(`a token key id is ${lens[1]} bytes, want 32`);
  if (lens[2] !== 32) throw badFile(`a challenge digest is ${lens[2]} bytes, want 32`);
  const out = { issuer_name: issuer, token_key_id: keyId, token, challenge_digest: digest };
  if (typeof r["redeem_until"] === "string" && r["redeem_until"] !== "") {
    if (Number.isNaN(Date.parse(r["redeem_until"]))) throw badFile("a redeem_until is not a time");
    out.redeem_until = r["redeem_until"];
  }
  if (Array.isArray(r["origin_info"]) && r["origin_info"].length > 0) {
    out.origin_info = r["origin_info"].filter((x) => typeof x === "string");
  }
  return out;
}
function checkOrder(o) {
  if (typeof o !== "object" || o === null) throw badFile("an order is not an object");
  const r = o;
  if (typeof r["issuer_url"] !== "string" || r["issuer_url"] === "" || typeof r["secret"] !== "string" || r["secret"] === "") {
    throw badFile("an order lacks its issuer URL or secret");
  }
  const out = {
    issuer_url: r["issuer_url"],
    secret: r["secret"],
    created: typeof r["created"] === "string" ? r["created"] : "0001-01-01T00:00:00Z"
  };
  if (typeof r["order_id"] === "string" && r["order_id"]) out.order_id = r["order_id"];
  if (r["voucher"] === true) out.voucher = true;
  if (typeof r["plan"] === "string" && r["plan"]) out.plan = r["plan"];
  if (r["exhausted"] === true) out.exhausted = true;
  return out;
}
function checkChallenge(c) {
  if (typeof c !== "object" || c === null) throw badFile("a remembered challenge is not an object");
  const r = c;
  if (typeof r["redeemer"] !== "string" || r["redeemer"] === "" || typeof r["challenge"] !== "string" || r["challenge"] === "") {
    throw badFile("a remembered challenge lacks its redeemer or challenge");
  }
  try {
    fromBase64(r["challenge"]);
    if (typeof r["offered"] === "string") fromBase64(r["offered"]);
  } catch {
    throw badFile("a remembered challenge is not base64");
  }
  const out = {
    redeemer: r["redeemer"].toLowerCase(),
    challenge: r["challenge"],
    trusted: typeof r["trusted"] === "string" ? r["trusted"] : "0001-01-01T00:00:00Z"
  };
  if (typeof r["offered"] === "string" && r["offered"] !== "") out.offered = r["offered"];
  return out;
}
function pendingCount(text) {
  try {
    const p = JSON.parse(text)["pending"];
    return Array.isArray(p) ? p.length : 0;
  } catch {
    return 0;
  }
}
function parseWalletFile(text) {
  if (text.startsWith("age-encryption.org/") || text.startsWith("-----BEGIN AGE ENCRYPTED FILE-----")) {
    throw new BlindpassError(
      "bad_wallet_file",
      "this wallet export is encrypted",
      "Export it unencrypted for the browser: `blindpass wallet export --plain FILE`."
    );
  }
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    throw badFile("not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badFile("not a JSON object");
  const r = v;
  const version = typeof r["version"] === "number" ? r["version"] : 0;
  if (version > WALLET_VERSION) {
    throw badFile(`format version ${version} is newer than this page understands (${WALLET_VERSION})`);
  }
  const tokens = r["tokens"] ?? [];
  const orders = r["orders"] ?? [];
  if (!Array.isArray(tokens) || !Array.isArray(orders)) throw badFile("tokens or orders is not a list");
  const out = { version: WALLET_VERSION, orders: orders.map(checkOrder), tokens: tokens.map(checkToken) };
  if (Array.isArray(r["challenges"])) out.challenges = r["challenges"].map(checkChallenge);
  const s = r["settings"];
  if (typeof s === "object" && s !== null) {
    const ss = s;
    out.settings = {};
    if (typeof ss["issuer_url"] === "string") out.settings.issuer_url = ss["issuer_url"];
    if (typeof ss["redeemer_url"] === "string") out.settings.redeemer_url = ss["redeemer_url"];
  }
  return out;
}
function usable(t, nowMs) {
  return t.redeem_until === void 0 || Date.parse(t.redeem_until) > nowMs;
}
var Wallet = class _Wallet {
  constructor(db, locks) {
    this.db = db;
    this.locks = locks;
  }
  db;
  locks;
  static async open(opts = {}) {
    const db = await openDB(opts.name ?? "blindpass-wallet", 3, {
      upgrade(db2, oldVersion) {
        if (oldVersion < 1) {
          const tokens = db2.createObjectStore("tokens", { keyPath: "token" });
          tokens.createIndex("digest", "challenge_digest");
          db2.createObjectStore("orders", { keyPath: ["issuer_url", "secret"] });
          db2.createObjectStore("held", { keyPath: "request" });
          db2.createObjectStore("settings");
        }
        if (oldVersion < 2) db2.createObjectStore("challenges", { keyPath: "redeemer" });
        if (oldVersion < 3) db2.createObjectStore("pending", { keyPath: "idempotency_key" });
      }
    });
    return new _Wallet(db, opts.locks ?? defaultLocks());
  }
  close() {
    this.db.close();
  }
  /** Runs fn holding the wallet lock of this origin (all tabs). */
  withLock(fn) {
    return this.locks(LOCK, fn);
  }
  /** Adds tokens not held yet; returns how many were new. */
  async put(tokens) {
    const checked = tokens.map(checkToken);
    const tx = this.db.transaction("tokens", "readwrite");
    let added = 0;
    for (const t of checked) {
      if (await tx.store.count(t.token) === 0) {
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
  async take(count, digestB64, validAtMs) {
    return this.withLock(async () => {
      const tx = this.db.transaction("tokens", "readwrite");
      const all = (await tx.store.index("digest").getAll(digestB64)).filter((t) => usable(t, validAtMs));
      if (all.length < count) {
        await tx.done;
        return { tokens: [], available: all.length };
      }
      const picked = [];
      for (let i = 0; i < count; i++) {
        const j = randomIndex(all.length);
        picked.push(all[j]);
        all.splice(j, 1);
      }
      for (const t of picked) await tx.store.delete(t.token);
      await tx.done;
      return { tokens: picked, available: all.length + count };
    });
  }
  /** Counts tokens still redeemable at validAtMs, for one challenge digest or all. */
  async balance(digestB64, validAtMs = Date.now()) {
    const all = digestB64 === void 0 ? await this.db.getAll("tokens") : await this.db.getAllFromIndex("tokens", "digest", digestB64);
    return all.filter((t) => usable(t, validAtMs)).length;
  }
  /** Drops tokens whose key stopped redeeming before nowMs; returns how many. */
  async dropExpired(nowMs = Date.now()) {
    const tx = this.db.transaction("tokens", "readwrite");
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
  async addOrder(o) {
    const order = checkOrder(o);
    return this.withLock(async () => {
      const tx = this.db.transaction("orders", "readwrite");
      const have = await tx.store.get([order.issuer_url, order.secret]);
      if (!have) {
        await tx.store.put(order);
        await tx.done;
        return true;
      }
      const merged = { ...have };
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
  async orders() {
    return this.db.getAll("orders");
  }
  async settings() {
    return await this.db.get("settings", "settings") ?? {};
  }
  async setSettings(s) {
    await this.db.put("settings", { ...s }, "settings");
  }
  /** Keeps tokens of a request without a clear answer for an exact retry until untilMs. */
  async hold(request, tokens, untilMs) {
    await this.withLock(async () => {
      await this.db.put("held", { request, tokens, until: untilMs });
    });
  }
  /** Takes the tokens held for exactly this request, if still inside their window. */
  async takeHeld(request, nowMs = Date.now()) {
    return (await this.takeHeldEntry(request, nowMs))?.tokens;
  }
  /** Takes the record held for exactly this request (tokens and deadline), if still inside its window. */
  async takeHeldEntry(request, nowMs = Date.now()) {
    return this.withLock(async () => {
      const tx = this.db.transaction("held", "readwrite");
      const h = await tx.store.get(request);
      if (h) await tx.store.delete(request);
      await tx.done;
      return h && h.until > nowMs ? h : void 0;
    });
  }
  /**
   * Forgets the tokens held for request if they are still these tokens (the
   * answer they paid for arrived complete: they are spent).
   */
  async releaseHeld(request, tokens) {
    await this.withLock(async () => {
      const tx = this.db.transaction("held", "readwrite");
      const h = await tx.store.get(request);
      if (h && h.tokens.length === tokens.length && h.tokens.every((t, i) => t.token === tokens[i].token)) {
        await tx.store.delete(request);
      }
      await tx.done;
    });
  }
  /** Requests with tokens held for an exact retry (expired ones are dropped). */
  async held(nowMs = Date.now()) {
    const tx = this.db.transaction("held", "readwrite");
    const out = [];
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
  async exportFile() {
    const tx = this.db.transaction(["tokens", "orders", "settings", "challenges"], "readonly");
    const [tokens, orders, settings, challenges] = await Promise.all([
      tx.objectStore("tokens").getAll(),
      tx.objectStore("orders").getAll(),
      tx.objectStore("settings").get("settings"),
      tx.objectStore("challenges").getAll()
    ]);
    await tx.done;
    const file = { version: WALLET_VERSION, orders, tokens };
    if (settings && (settings.issuer_url || settings.redeemer_url)) file.settings = settings;
    if (challenges.length > 0) file.challenges = challenges;
    return file;
  }
  async exportJSON() {
    return JSON.stringify(await this.exportFile(), null, 1) + "\n";
  }
  /**
   * Merges a wallet file into this wallet; returns what was new. This
   * wallet's settings stay; remembered challenges are added for redeemers
   * this wallet does not know, never replaced.
   */
  async importJSON(text) {
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
  async putPending(p) {
    await this.db.put("pending", p);
  }
  async pendingBatches() {
    return this.db.getAll("pending");
  }
  async dropPending(idempotencyKey) {
    await this.db.delete("pending", idempotencyKey);
  }
  /** Stores a batch's tokens and forgets the batch, in one transaction; returns how many tokens were new. */
  async completePending(idempotencyKey, tokens) {
    const checked = tokens.map(checkToken);
    const tx = this.db.transaction(["tokens", "pending"], "readwrite");
    const store = tx.objectStore("tokens");
    let added = 0;
    for (const t of checked) {
      if (await store.count(t.token) === 0) {
        await store.put(t);
        added++;
      }
    }
    await tx.objectStore("pending").delete(idempotencyKey);
    await tx.done;
    return added;
  }
  /** The challenge remembered for a redeemer origin. */
  async rememberedChallenge(redeemer) {
    return this.db.get("challenges", redeemer.toLowerCase());
  }
  /**
   * Remembers c for its redeemer when none is remembered, or in its place
   * when replace is set; returns what is remembered afterwards.
   */
  async rememberChallenge(c, replace) {
    const rec = checkChallenge(c);
    return this.withLock(async () => {
      const tx = this.db.transaction("challenges", "readwrite");
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
  async markChallengeOffered(redeemer, offered) {
    await this.withLock(async () => {
      const tx = this.db.transaction("challenges", "readwrite");
      const have = await tx.store.get(redeemer.toLowerCase());
      if (have) await tx.store.put({ ...have, offered });
      await tx.done;
    });
  }
};
export {
  BlindpassClient,
  BlindpassError,
  ChallengeChangedError,
  IssuerUnreachableError,
  MAX_DIRECTORY_KEYS,
  NoTokensError,
  ProblemError,
  RedeemerUnreachableError,
  StreamCutError,
  WALLET_VERSION,
  Wallet,
  batchState,
  buildBatch,
  challengeFromBytes,
  challengeProblem,
  checkChallengeKey,
  defaultLocks,
  finalizeBatch,
  finalizePending,
  formatAuthorization,
  fromBase64,
  fromHex,
  importVerifyKey,
  issuingKeys,
  parseDirectory,
  parseWalletFile,
  parseWalletToken,
  pickChallenge,
  problemError,
  readProblem,
  requestKey,
  sseData,
  toBase64,
  toBase64URL,
  toHex,
  verifyToken,
  walletToken
};
