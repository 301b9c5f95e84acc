import { publicVerif, Token, type TokenChallenge } from '@cloudflare/privacypass-ts';
import type { DirectoryKey } from './directory.js';
declare const Type2Client: typeof publicVerif.Client;
export declare const MEDIA_BATCH_REQUEST = "application/private-token-generic-batch-request";
export declare const MEDIA_BATCH_RESPONSE = "application/private-token-generic-batch-response";
/** A batch request ready to send, and the state to finalize its answer. */
export interface BatchRequest {
    body: Uint8Array;
    clients: InstanceType<typeof Type2Client>[];
    key: DirectoryKey;
    challenge: TokenChallenge;
}
/** Blinds n fresh token requests for challenge under key. */
export declare function buildBatch(key: DirectoryKey, challenge: TokenChallenge, n: number): Promise<BatchRequest>;
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
export declare function importVerifyKey(spki: Uint8Array): Promise<CryptoKey>;
/**
 * Verifies a token the way a redeemer does: its signature under key, and
 * that it names this key and this challenge.
 */
export declare function verifyToken(token: Token, key: DirectoryKey, challengeDigest: Uint8Array, verifyKey?: CryptoKey): Promise<boolean>;
/** Parses a generic batch response and finalizes and verifies each element. */
export declare function finalizeBatch(req: BatchRequest, answer: Uint8Array, challengeDigest: Uint8Array): Promise<BatchResult>;
/** What finalizing one element needs after a reload: the token input and the blinding inverse (secret). */
export interface PendingElement {
    /** Standard base64 of the token input (token_type, nonce, challenge digest, key id). */
    token_input: string;
    /** Standard base64 of the blinding inverse. */
    inv: string;
}
/**
 * The finalization state of a batch, to be saved before it is sent: with
 * it, the same request can be sent again after the page was closed (same
 * Idempotency-Key: the issuer answers with the same signatures and moves no
 * more credit) and its answer finalized.
 */
export declare function batchState(req: BatchRequest): PendingElement[];
/** Finalizes and verifies a generic batch answer from saved element states (see batchState). */
export declare function finalizePending(elements: PendingElement[], key: DirectoryKey, answer: Uint8Array, challengeDigest: Uint8Array): Promise<BatchResult>;
export {};
