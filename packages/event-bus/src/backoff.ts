/** How long a consumer waits before handing a failed message to `handle` again. */
export interface RetryBackoff {
  /** First wait, milliseconds (default 250). */
  initialMs?: number;
  /** Longest wait, milliseconds (default 10 000): a broken dependency is retried at least this often. */
  maxMs?: number;
}

export const defaultBackoff = { initialMs: 250, maxMs: 10_000 } as const;

/** Exponential: initial, 2×, 4×… capped at max. Attempt 1 is the first retry. */
export function retryDelay(attempt: number, backoff: RetryBackoff = {}): number {
  const initial = backoff.initialMs ?? defaultBackoff.initialMs;
  const max = backoff.maxMs ?? defaultBackoff.maxMs;
  return Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
}

/**
 * A sleep that stop() can cut short: a consumer retrying a failing message must not make its
 * stop wait for the rest of a backoff.
 */
export function interruptibleSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
