// @blindpass/client: buy, hold and spend Blindpass Privacy Pass tokens
// (RFC 9578 type 0x0002, generic batches) from a web page.

export {
  BlindpassClient, formatAuthorization, parseWalletToken, problemError, readProblem, requestKey, walletToken,
  type ClientOptions, type FetchProgress, type Model, type OrderStatus, type Plan, type SpendOptions, type SpendResult,
  type TokensOutcome,
} from './client.js';
export { challengeFromBytes, challengeProblem, pickChallenge, type Challenge } from './challenge.js';
export { checkChallengeKey, issuingKeys, MAX_DIRECTORY_KEYS, parseDirectory, type Directory, type DirectoryKey } from './directory.js';
export {
  BlindpassError, ChallengeChangedError, IssuerUnreachableError, NoTokensError, ProblemError, RedeemerUnreachableError, StreamCutError,
  type ErrorCode,
} from './errors.js';
export {
  batchState, buildBatch, finalizeBatch, finalizePending, importVerifyKey, verifyToken, type BatchRequest, type BatchResult,
  type PendingElement,
} from './issuance.js';
export { sseData } from './sse.js';
export {
  parseWalletFile, Wallet, WALLET_VERSION, type HeldTokens, type Imported, type PendingBatch, type RememberedChallenge, type WalletFile, type WalletOptions, type WalletOrder,
  type WalletSettings, type WalletToken,
} from './wallet.js';
export { defaultLocks, type LockRunner } from './lock.js';
export { fromBase64, fromHex, toBase64, toBase64URL, toHex } from './bytes.js';
