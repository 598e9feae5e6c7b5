/**
 * Serialises work per key inside this process (T16: "serialize per normalized (tenant, email)"). Callers are
 * queued, not merged: each re-reads the state once it holds the key, because the one before it may have changed
 * it, and a second caller's password is its own. Across processes the core's unique email and unique mapping
 * are the arbiters (see import-user.ts).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      // Only the last waiter's tail is ours to remove; a later caller has replaced it otherwise.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

export const lockKey = (tenantId: string, email: string): string => `${tenantId}\n${email}`;
