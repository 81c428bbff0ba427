/**
 * Exponential backoff with jitter for the relay: base, 2·base, 4·base … capped at max, each delay
 * drawn from its upper half so replicas that failed together do not retry in lockstep. Pure.
 */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** failures ≥ 1: consecutive failed attempts so far. random() in [0, 1). */
export function backoffDelay(failures: number, backoff: Backoff, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
