import { TokenChallenge } from '@cloudflare/privacypass-ts';
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
/**
 * Checks what a client can check of a redeemer's challenge by itself, like
 * the Go client's CheckChallenge: type 0x0002, an empty redemption context,
 * issuer_name equal to the issuer URL's host[:port], and the redeemer's
 * host[:port] among the origin names. Returns the reason it fails, or
 * undefined.
 */
export declare function challengeProblem(c: TokenChallenge, issuerURL?: string, redeemerURL?: string): string | undefined;
/** The challenge record of serialized TokenChallenge bytes. */
export declare function challengeFromBytes(raw: Uint8Array, tokenKey?: Uint8Array): Promise<Challenge>;
/**
 * Picks the first usable challenge of a WWW-Authenticate value (see
 * challengeProblem; the issuer and redeemer checks apply when their URLs
 * are given).
 */
export declare function pickChallenge(header: string | null, issuerURL?: string, redeemerURL?: string): Promise<Challenge>;
