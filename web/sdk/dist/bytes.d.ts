/** Standard base64 with padding (Go's encoding/json form of []byte). */
export declare function toBase64(b: Uint8Array): string;
/** Decodes standard or URL-safe base64, with or without padding; throws on anything else. */
export declare function fromBase64(s: string): Uint8Array;
/** base64url with padding (RFC 9577 token= values, as the Go client sends them). */
export declare function toBase64URL(b: Uint8Array, pad?: boolean): string;
export declare function toHex(b: Uint8Array): string;
export declare function fromHex(s: string): Uint8Array;
export declare function sha256(b: Uint8Array): Promise<Uint8Array>;
export declare function randomBytes(n: number): Uint8Array;
/** A uniformly random integer in [0, n), n < 2^32. */
export declare function randomIndex(n: number): number;
export declare function equalBytes(a: Uint8Array, b: Uint8Array): boolean;
export declare const utf8: TextEncoder;
