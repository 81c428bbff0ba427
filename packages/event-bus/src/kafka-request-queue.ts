/**
 * kafkajs 2.2.4 keeps every broker connection awake with a 1 ms timer, forever (kafkajs issues
 * #1704 and #1751, fixes proposed in PRs #1755 and #1768, unreleased: the project is unmaintained).
 * Its RequestQueue reschedules a check of its pending requests after every check, and with nothing
 * pending and no throttle the delay is `throttledUntil (-1) - Date.now()`, a negative number, which
 * Node turns into 1 ms (and, since Node 24, a TimeoutNegativeWarning). Measured here: an idle
 * consumer on one broker used 8% of a CPU (~1,600 timers a second) against 0.8% without the loop.
 *
 * The fix, as in those PRs: with no timer set, nothing pending and no throttle in effect, schedule
 * nothing. Nothing is lost: push() sends a request at once or queues it and schedules a check
 * (pending > 0 then), and every response or timeout runs checkPendingRequests. In every other
 * state kafkajs' own method runs unchanged.
 *
 * Applied once, to kafkajs 2.2.4 only (the version the lockfile pins): another version may have
 * fixed or changed the class, and kafka-request-queue.test.ts fails until this is looked at again.
 */
import { createRequire } from 'node:module';

interface RequestQueueState {
  throttleCheckTimeoutId: unknown;
  pending: unknown[];
  throttledUntil: number;
}

interface RequestQueueClass {
  prototype: RequestQueueState & { scheduleCheckPendingRequests(this: RequestQueueState): void };
}

export const PATCHED_KAFKAJS_VERSION = '2.2.4';

const require = createRequire(import.meta.url);

/** The RequestQueue class kafkajs itself uses (same module instance), by its internal path. */
export function kafkajsRequestQueue(): RequestQueueClass {
  return require('kafkajs/src/network/requestQueue/index.js') as RequestQueueClass;
}

let applied: boolean | undefined;

/** Applies the fix once; true when it is in place (kafkajs is the version it was written for). */
export function patchKafkajsRequestQueue(): boolean {
  if (applied !== undefined) return applied;
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== PATCHED_KAFKAJS_VERSION) return (applied = false);
  const { prototype } = kafkajsRequestQueue();
  const schedule = prototype.scheduleCheckPendingRequests;
  prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueState) {
    const idle = this.throttleCheckTimeoutId === null && this.pending.length === 0 && this.throttledUntil <= Date.now();
    if (!idle) schedule.call(this);
  };
  return (applied = true);
}
