// Typed errors: each says what happened and what the person can do next.
// Compare with `instanceof` or `err.code`.

export type ErrorCode =
  | 'no_tokens'
  | 'redeemer_unreachable'
  | 'issuer_unreachable'
  | 'token_spent'
  | 'tokens_held'
  | 'stream_cut'
  | 'unknown_secret'
  | 'not_paid'
  | 'no_credit'
  | 'order_closed'
  | 'bad_directory'
  | 'key_not_listed'
  | 'bad_challenge'
  | 'challenge_changed'
  | 'bad_issuance'
  | 'bad_wallet_file'
  | 'server_error';

export class BlindpassError extends Error {
  /** A stable machine-readable kind. */
  readonly code: ErrorCode;
  /** One sentence for a person: what to do now. */
  readonly hint: string;
  constructor(code: ErrorCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlindpassError';
    this.code = code;
    this.hint = hint;
  }
}

/** The wallet holds fewer usable tokens than the request costs. */
export class NoTokensError extends BlindpassError {
  readonly have: number;
  readonly need: number;
  constructor(have: number, need: number) {
    super('no_tokens', `not enough tokens: this request costs ${need}, the wallet has ${have}`,
      'Buy a plan, or wait for the refill of an order that still has credit.');
    this.have = have;
    this.need = need;
  }
}

/** No answer from the redeemer; no token was spent (or they are held for an exact retry). */
export class RedeemerUnreachableError extends BlindpassError {
  readonly url: string;
  constructor(url: string, detail: string, held = false, options?: { cause?: unknown }) {
    super('redeemer_unreachable', `the redeemer at ${url} does not answer: ${detail}`,
      held
        ? 'Your tokens are kept for this exact message: press Retry when the service is back (within 5 minutes).'
        : 'No token was spent. Check your connection or try again in a minute.', options);
    this.url = url;
  }
}

export class IssuerUnreachableError extends BlindpassError {
  readonly url: string;
  constructor(url: string, detail: string, options?: { cause?: unknown }) {
    super('issuer_unreachable', `the issuer at ${url} does not answer: ${detail}`,
      'Your order is saved in this browser; try again in a minute to fetch its tokens.', options);
    this.url = url;
  }
}

/** An error answer with RFC 9457 problem details (or the OpenAI error shape). */
export class ProblemError extends BlindpassError {
  readonly status: number;
  readonly type: string;
  readonly detail: string;
  /** What the server said happened to the tokens of the request, when it said. */
  readonly tokensConsumed: boolean | 'unknown' | 'replayed' | undefined;
  constructor(code: ErrorCode, status: number, type: string, detail: string, hint: string,
    tokensConsumed?: boolean | 'unknown' | 'replayed') {
    super(code, `HTTP ${status}${detail ? ': ' + detail : ''}`, hint);
    this.status = status;
    this.type = type;
    this.detail = detail;
    this.tokensConsumed = tokensConsumed;
  }
}

/**
 * The redeemer answers with another challenge than the one this wallet
 * remembers: nothing is sent there until the person accepts one
 * (BlindpassClient.trustChallenge), after comparing its digest with the one
 * the operator publishes. A redeemer handing each visitor its own challenge
 * could otherwise recognise their tokens.
 */
export class ChallengeChangedError extends BlindpassError {
  readonly redeemer: string;
  /** Hex SHA-256 of the remembered and of the offered challenge. */
  readonly rememberedDigest: string;
  readonly offeredDigest: string;
  constructor(redeemer: string, rememberedDigest: string, offeredDigest: string) {
    super('challenge_changed',
      `the redeemer's token challenge changed (remembered ${rememberedDigest.slice(0, 16)}…, now ${offeredDigest.slice(0, 16)}…)`,
      'Nothing was sent. If the operator announced a new challenge, compare its digest with the one they publish, then accept it.');
    this.redeemer = redeemer;
    this.rememberedDigest = rememberedDigest;
    this.offeredDigest = offeredDigest;
  }
}

/** A streamed answer stopped before its end (the gateway's stream_cut event). */
export class StreamCutError extends BlindpassError {
  constructor(message: string) {
    super('stream_cut', message,
      'Retry this exact message within 5 minutes: the same tokens are sent again and no more are spent.');
  }
}

export const hints = {
  directory: 'The issuer publishes a directory this client refuses; do not buy from it until the operator fixes it.',
  keyNotListed: 'The redeemer named a key the issuer does not list (a possible tracking attempt); the tokens were not sent.',
  challenge: 'The redeemer did not send a usable Privacy Pass challenge; check the redeemer URL.',
  issuance: 'The issuer sent tokens that do not verify; they were not stored. Try again later.',
  spent: 'These tokens were already spent; they were removed from the wallet.',
  server: 'The service refused the request; the details say why.',
  unknownSecret: 'The issuer does not know this order; check the issuer URL.',
  notPaid: 'The order is not paid yet: finish the checkout, then come back.',
  noCredit: 'All tokens of this order were fetched already.',
  walletFile: 'This file is not a Blindpass wallet export; use `blindpass wallet export --plain FILE`.',
};
