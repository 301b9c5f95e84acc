import type { PendingElement } from './issuance.js';
import { type LockRunner } from './lock.js';
/** The wallet file format version this package reads and writes. */
export declare const WALLET_VERSION = 1;
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
export interface WalletOptions {
    /** IndexedDB database name (default "blindpass-wallet"). */
    name?: string;
    /** Lock implementation (default: the Web Locks API). */
    locks?: LockRunner;
}
/** Parses a wallet file (the format of `blindpass wallet export --plain`). */
export declare function parseWalletFile(text: string): WalletFile;
/** A Blindpass wallet in this origin's IndexedDB. */
export declare class Wallet {
    private readonly db;
    private readonly locks;
    private constructor();
    static open(opts?: WalletOptions): Promise<Wallet>;
    close(): void;
    /** Runs fn holding the wallet lock of this origin (all tabs). */
    withLock<T>(fn: () => Promise<T>): Promise<T>;
    /** Adds tokens not held yet; returns how many were new. */
    put(tokens: WalletToken[]): Promise<number>;
    /**
     * Hands out count tokens made for the challenge with this digest (standard
     * base64), drawn at random among those still redeemable at validAtMs, and
     * removes them from the wallet, all in one transaction under the lock.
     * With fewer than count available nothing is taken (tokens is empty) and
     * available says how many there are.
     */
    take(count: number, digestB64: string, validAtMs: number): Promise<{
        tokens: WalletToken[];
        available: number;
    }>;
    /** Counts tokens still redeemable at validAtMs, for one challenge digest or all. */
    balance(digestB64?: string, validAtMs?: number): Promise<number>;
    /** Drops tokens whose key stopped redeeming before nowMs; returns how many. */
    dropExpired(nowMs?: number): Promise<number>;
    /** Stores o, or fills in what the stored order with the same issuer and secret lacks. Returns whether it was new. */
    addOrder(o: WalletOrder): Promise<boolean>;
    orders(): Promise<WalletOrder[]>;
    settings(): Promise<WalletSettings>;
    setSettings(s: WalletSettings): Promise<void>;
    /** Keeps tokens of a request without a clear answer for an exact retry until untilMs. */
    hold(request: string, tokens: WalletToken[], untilMs: number): Promise<void>;
    /** Takes the tokens held for exactly this request, if still inside their window. */
    takeHeld(request: string, nowMs?: number): Promise<WalletToken[] | undefined>;
    /** Takes the record held for exactly this request (tokens and deadline), if still inside its window. */
    takeHeldEntry(request: string, nowMs?: number): Promise<HeldTokens | undefined>;
    /**
     * Forgets the tokens held for request if they are still these tokens (the
     * answer they paid for arrived complete: they are spent).
     */
    releaseHeld(request: string, tokens: WalletToken[]): Promise<void>;
    /** Requests with tokens held for an exact retry (expired ones are dropped). */
    held(nowMs?: number): Promise<HeldTokens[]>;
    /**
     * The whole wallet in the format of `blindpass wallet export --plain`.
     * The tokens stay here too: spend them from one place only.
     */
    exportFile(): Promise<WalletFile>;
    exportJSON(): Promise<string>;
    /**
     * Merges a wallet file into this wallet; returns what was new. This
     * wallet's settings stay; remembered challenges are added for redeemers
     * this wallet does not know, never replaced.
     */
    importJSON(text: string): Promise<Imported>;
    /** Saves a batch before it is sent. */
    putPending(p: PendingBatch): Promise<void>;
    pendingBatches(): Promise<PendingBatch[]>;
    dropPending(idempotencyKey: string): Promise<void>;
    /** Stores a batch's tokens and forgets the batch, in one transaction; returns how many tokens were new. */
    completePending(idempotencyKey: string, tokens: WalletToken[]): Promise<number>;
    /** The challenge remembered for a redeemer origin. */
    rememberedChallenge(redeemer: string): Promise<RememberedChallenge | undefined>;
    /**
     * Remembers c for its redeemer when none is remembered, or in its place
     * when replace is set; returns what is remembered afterwards.
     */
    rememberChallenge(c: RememberedChallenge, replace: boolean): Promise<RememberedChallenge>;
    /** Records that the redeemer answered with another challenge: nothing is spent there until one is accepted. */
    markChallengeOffered(redeemer: string, offered: string): Promise<void>;
}
