export type LockRunner = <T>(name: string, fn: () => Promise<T>) => Promise<T>;
/** The Web Locks API of this realm when there is one, else a realm-local lock. */
export declare function defaultLocks(): LockRunner;
