import { UnavailableError } from "./errors.js";

/**
 * Races `promise` against a timer. A store or Redis client that never answers (connect-redis with Redis down,
 * node-redis queueing commands while it reconnects, T9) must not hang the request: after `timeoutMs` this
 * rejects with ERR_MIGRATE_TIMEOUT. The abandoned call is left to finish on its own; its late outcome is
 * swallowed so it cannot become an unhandled rejection.
 */
export function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new UnavailableError("ERR_MIGRATE_TIMEOUT", `${what} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
