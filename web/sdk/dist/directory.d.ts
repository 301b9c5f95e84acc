export declare const DIRECTORY_PATH = "/.well-known/private-token-issuer-directory";
export declare const MAX_DIRECTORY_KEYS = 3;
export declare const TOKEN_TYPE_BLIND_RSA = 2;
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
/** Checks and decodes a directory body fetched from issuerURL. */
export declare function parseDirectory(issuerURL: string, body: unknown): Promise<Directory>;
/** The keys that may sign at nowSeconds, the most recent first. */
export declare function issuingKeys(d: Directory, nowSeconds: number): DirectoryKey[];
/**
 * Checks that the SPKI a redeemer's challenge names is one the issuer lists.
 * A key the issuer does not list is refused: a redeemer could otherwise hand
 * each client a key of its own and recognise its tokens.
 */
export declare function checkChallengeKey(d: Directory, tokenKey: Uint8Array | undefined): void;
export declare function keyIdHex(k: DirectoryKey): string;
