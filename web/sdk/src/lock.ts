// One exclusive lock for wallet changes, shared by every tab of the origin
// through the Web Locks API; where that API is missing (Node, old browsers)
// a lock within this JavaScript realm.

export type LockRunner = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

interface LockManagerLike {
  request<T>(name: string, cb: () => Promise<T>): Promise<T>;
}

const local = new Map<string, Promise<unknown>>();

function localLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const prev = local.get(name) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  local.set(name, run.catch(() => undefined));
  return run;
}

/** The Web Locks API of this realm when there is one, else a realm-local lock. */
export function defaultLocks(): LockRunner {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  const locks = nav?.locks;
  if (locks && typeof locks.request === 'function') {
    return (name, fn) => locks.request(name, fn);
  }
  return localLock;
}
