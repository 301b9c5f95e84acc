export type ErrorCode = 'no_tokens' | 'redeemer_unreachable' | 'issuer_unreachable' | 'token_spent' | 'tokens_held' | 'stream_cut' | 'unknown_secret' | 'not_paid' | 'no_credit' | 'order_closed' | 'bad_directory' | 'key_not_listed' | 'bad_challenge' | 'challenge_changed' | 'bad_issuance' | 'bad_wallet_file' | 'server_error';
export declare class BlindpassError extends Error {
    /** A stable machine-readable kind. */
    readonly code: ErrorCode;
    /** One sentence for a person: what to do now. */
    readonly hint: string;
    constructor(code: ErrorCode, message: string, hint: string, options?: {
        cause?: unknown;
    });
}
/** The wallet holds fewer usable tokens than the request costs. */
export declare class NoTokensError extends BlindpassError {
    readonly have: number;
    readonly need: number;
    constructor(have: number, need: number);
}
/** No answer from the redeemer; no token was spent (or they are held for an exact retry). */
export declare class RedeemerUnreachableError extends BlindpassError {
    readonly url: string;
    constructor(url: string, detail: string, held?: boolean, options?: {
        cause?: unknown;
    });
}
export declare class IssuerUnreachableError extends BlindpassError {
    readonly url: string;
    constructor(url: string, detail: string, options?: {
        cause?: unknown;
    });
}
/** An error answer with RFC 9457 problem details (or the OpenAI error shape). */
export declare class ProblemError extends BlindpassError {
    readonly status: number;
    readonly type: string;
    readonly detail: string;
    /** What the server said happened to the tokens of the request, when it said. */
    readonly tokensConsumed: boolean | 'unknown' | 'replayed' | undefined;
    constructor(code: ErrorCode, status: number, type: string, detail: string, hint: string, tokensConsumed?: boolean | 'unknown' | 'replayed');
}
/**
 * The redeemer answers with another challenge than the one this wallet
 * remembers: nothing is sent there until the person accepts one
 * (BlindpassClient.trustChallenge), after comparing its digest with the one
 * the operator publishes. A redeemer handing each visitor its own challenge
 * could otherwise recognise their tokens.
 */
export declare class ChallengeChangedError extends BlindpassError {
    readonly redeemer: string;
    /** Hex SHA-256 of the remembered and of the offered challenge. */
    readonly rememberedDigest: string;
    readonly offeredDigest: string;
    constructor(redeemer: string, rememberedDigest: string, offeredDigest: string);
}
/** A streamed answer stopped before its end (the gateway's stream_cut event). */
export declare class StreamCutError extends BlindpassError {
    constructor(message: string);
}
export declare const hints: {
    directory: string;
    keyNotListed: string;
    challenge: string;
    issuance: string;
    spent: string;
    server: string;
    unknownSecret: string;
    notPaid: string;
    noCredit: string;
    walletFile: string;
};
