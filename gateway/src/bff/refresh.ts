/**
 * Transparent refresh with rotation. The token service rotates the refresh token on every use and
 * treats a second use of an old one as theft (it revokes the whole family). A browser fires
 * requests in parallel, all carrying the same cookie, so the refresh must happen once per
 * rotation: in-flight refreshes are shared per (session id, refresh token), and a finished one is
 * remembered for a short grace period, so a request that still carries the pre-rotation cookie
 * (sent before the browser stored the new one) is given the rotated session instead of replaying
 * the old refresh token.
 *
 * Per process. Replicas sharing Redis claim each rotation there too (refresh-redis.ts, which uses
 * this coordinator for the requests of one process).
 */
import { createHash } from 'node:crypto';

export type RefreshOutcome<S> =
  | { session: S }
  /** The token service refused the refresh token (invalid_grant): the session is over. */
  | { refused: true }
  /** The token service could not be reached or answered oddly: try again later. */
  | { unavailable: true };

export interface RefreshCoordinator {
  run<S>(sid: string, refreshToken: string, refresh: () => Promise<RefreshOutcome<S>>): Promise<RefreshOutcome<S>>;
  /** Number of refreshes in flight or remembered (tests, metrics). */
  readonly size: number;
}

/** How long a finished rotation is handed to requests still carrying the old cookie. */
export const ROTATION_GRACE_MS = 30_000;

export function createRefreshCoordinator(graceMs = ROTATION_GRACE_MS): RefreshCoordinator {
  const inFlight = new Map<string, Promise<RefreshOutcome<unknown>>>();
  const finished = new Map<string, { outcome: RefreshOutcome<unknown>; until: number }>();

  const sweep = (now: number) => {
    for (const [key, entry] of finished) if (entry.until <= now) finished.delete(key);
  };

  return {
    get size() {
      return inFlight.size + finished.size;
    },
    run<S>(sid: string, refreshToken: string, refresh: () => Promise<RefreshOutcome<S>>) {
      // The refresh token is hashed: the map never holds a usable credential as a key.
      const key = `${sid}:${createHash('sha256').update(refreshToken).digest('base64url')}`;
      const now = Date.now();
      sweep(now);
      const done = finished.get(key);
      if (done) return Promise.resolve(done.outcome as RefreshOutcome<S>);
      const running = inFlight.get(key);
      if (running) return running as Promise<RefreshOutcome<S>>;
      const started = refresh()
        .catch((): RefreshOutcome<S> => ({ unavailable: true }))
        .then((outcome) => {
          inFlight.delete(key);
          // An unavailable token service is not remembered: the next request may retry.
          if (!('unavailable' in outcome)) {
            finished.set(key, { outcome, until: Date.now() + graceMs });
            // The rotated tokens must not linger in memory past the grace period, even when no
            // further refresh comes along to sweep them.
            setTimeout(() => finished.delete(key), graceMs).unref();
          }
          return outcome;
        });
      inFlight.set(key, started as Promise<RefreshOutcome<unknown>>);
      return started;
    },
  };
}
