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
 * Picks the first usable challenge of a WWW-Authenticate value: type
 * 0x0002, an issuer name, an empty redemption context (tokens are fetched
 * ahead of use).
 */
export declare function pickChallenge(header: string | null): Promise<Challenge>;
