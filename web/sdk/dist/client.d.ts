import { Token } from '@cloudflare/privacypass-ts';
import { type Challenge } from './challenge.js';
import { type Directory, type DirectoryKey } from './directory.js';
import { ProblemError } from './errors.js';
import type { Wallet, WalletOrder, WalletToken } from './wallet.js';
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
    onRefill?: (e: {
        progress?: FetchProgress;
        stored?: number;
        error?: unknown;
    }) => void;
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
/** The key an exact retry shares: method, absolute URL and SHA-256 of the body. */
export declare function requestKey(method: string, url: string, body: string | Uint8Array | undefined): Promise<string>;
/** Authorization value carrying tokens (base64url, padded), several comma-separated. */
export declare function formatAuthorization(tokens: Uint8Array[]): string;
interface Problem {
    status: number;
    type: string;
    code: string;
    detail: string;
    tokensConsumed?: boolean | 'unknown' | 'replayed';
}
/** Reads an RFC 9457 problem or an OpenAI error body (without consuming the caller's response). */
export declare function readProblem(resp: Response): Promise<Problem>;
/** Turns an error answer into a typed error with a hint for a person. */
export declare function problemError(resp: Response): Promise<ProblemError>;
export declare class BlindpassClient {
    readonly issuerURL: string;
    readonly redeemerURL: string;
    readonly wallet: Wallet;
    private readonly opts;
    private readonly f;
    private dir?;
    private chal?;
    private refillTimer?;
    private refilling?;
    constructor(opts: ClientOptions);
    private now;
    private issuerFetch;
    private redeemerFetch;
    /** The issuer's checked directory (cached for 5 minutes). */
    directory(force?: boolean): Promise<Directory>;
    /** The plans on sale. */
    plans(): Promise<Plan[]>;
    /**
     * Creates an order for plan with a fresh 32-byte secret (only its hash is
     * sent) and stores the order in the wallet before returning, so the page
     * may leave for the checkout. Not retried: a lost answer may have made the
     * order; start again with a new secret.
     */
    createOrder(plan: string): Promise<{
        order: WalletOrder;
        checkoutURL: string;
    }>;
    /** Asks the issuer about an order (its secret goes only to the issuer, as a Bearer credential). */
    orderStatus(order: WalletOrder): Promise<OrderStatus>;
    /** Polls until the order is paid (default every 2 s). An order that ends unpaid throws. */
    waitPaid(order: WalletOrder, o?: {
        intervalMs?: number;
        signal?: AbortSignal;
        onStatus?: (s: OrderStatus) => void;
    }): Promise<OrderStatus>;
    /**
     * Turns the remaining credit of order into tokens for the redeemer's
     * challenge, in generic batches of batchSize, storing each batch before the
     * next; onProgress sees every stored batch. Returns how many were stored.
     */
    fetchTokens(order: WalletOrder, o?: {
        onProgress?: (p: FetchProgress) => void;
        count?: number;
    }): Promise<number>;
    /**
     * Sends the batches of this issuer saved before an interruption again,
     * with their Idempotency-Key (the issuer answers with the same signatures
     * and moves no more credit), and stores their tokens. A refusal (4xx)
     * forgets a batch; no answer or a 5xx keeps it for next time. Returns how
     * many tokens were stored.
     */
    resumePending(): Promise<number>;
    /** Turns the remaining credit of every order of this issuer into tokens. */
    refill(onProgress?: (p: FetchProgress) => void): Promise<number>;
    /**
     * Schedules a refill after a random delay when fewer than refillBelow
     * tokens remain (the privacy habit of the CLI: whole batches ahead of
     * need, fetched at a time unrelated to a spend).
     */
    maybeRefill(): Promise<boolean>;
    /** The redeemer's origin, the key of its remembered challenge. */
    get redeemerOrigin(): string;
    /**
     * Asks the redeemer for its current challenge (POST /v1/redeem without a
     * token answers 401 with it), checks it against the issuer and the
     * redeemer (challengeProblem) and its key against the issuer's directory.
     */
    private probeChallenge;
    /**
     * The redeemer's challenge, checked: the first one seen is remembered in
     * the wallet (as the CLI does); a redeemer answering with another one is
     * refused with ChallengeChangedError until trustChallenge accepts it.
     * Asking also proves the redeemer answers before any token leaves.
     */
    challenge(): Promise<Challenge>;
    /**
     * Accepts the redeemer's current challenge in place of the remembered
     * one, after the person compared it out of band: with expectDigest (at
     * least 16 hex digits) its SHA-256 must start with it. Tokens made for the
     * old challenge stay in the wallet but are not spent at this redeemer.
     */
    trustChallenge(expectDigest?: string): Promise<{
        digest: string;
        changed: boolean;
    }>;
    /** Usable tokens for this redeemer (all tokens before its challenge is known). */
    balance(): Promise<number>;
    /** The gateway's models and their costs. */
    models(): Promise<Model[]>;
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
    spend(path: string, init: RequestInit & {
        body?: string;
    }, o: SpendOptions): Promise<SpendResult>;
    /** Applies the rules of spend to an answer; a held 2xx answer comes back watched for its end. */
    private settle;
    /**
     * The 2xx answer resp with its body watched: read to its end (for
     * text/event-stream, to the line data: [DONE]) it ends the hold of the
     * tokens, which are then spent; cut, cancelled or left unread, the tokens
     * stay held for an exact retry.
     */
    private watchEnd;
    /** fetch() against the redeemer paying cost tokens; see spend. */
    fetch(path: string, init?: RequestInit & {
        body?: string;
    }, cost?: number): Promise<Response>;
    /**
     * Sends an OpenAI chat completion request with stream: true, paying cost
     * tokens, and calls onDelta with each piece of the answer; returns the
     * whole answer. A cut stream holds the tokens for an exact retry (call
     * chat again with the same body) and throws StreamCutError.
     */
    chat(body: Record<string, unknown>, o: SpendOptions & {
        onDelta?: (text: string) => void;
    }): Promise<string>;
}
/** The wallet record of a finalized token. */
export declare function walletToken(t: Token, key: DirectoryKey, chal: Challenge): WalletToken;
/** Parses a wallet token's bytes with privacypass-ts. */
export declare function parseWalletToken(w: WalletToken): Token;
export {};
