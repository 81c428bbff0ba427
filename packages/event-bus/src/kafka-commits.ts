/**
 * The Kafka consumer's offset commits for one partition's fetched batch, in batches rather than one
 * per message. A commit is a round trip to the group coordinator that the partition's walk waits
 * for, and kafkajs' request and response handling costs the event loop ~110 µs: measured in
 * bench:events (bench/README.md, "Session 9"), committing after every message cost more than
 * everything else a message needs, validation aside, and bounded the consumer by round trips
 * instead of CPU. Kafka's own clients commit periodically for the same reason
 * (`auto.commit.interval.ms`).
 *
 * Only offsets of handled messages are ever committed (the walk calls handled() after `handle`
 * resolves), so delivery stays at least once: what a crash or a lost partition leaves uncommitted
 * is delivered again, and Gatehouse's consumers dedupe by event id. The walk flushes when the
 * interval has passed since the partition's last commit, at the end of its batch (so an idle
 * partition never sits on handled offsets), before a handle's retries, before it gives the
 * partition up in a rebalance, and on stop.
 */

export interface CommitOffset {
  topic: string;
  partition: number;
  /** The next offset to read: the last handled message's offset + 1, as Kafka stores it. */
  offset: string;
}

/** Commits one offset; resolves false when the commit failed (the caller logged it). */
export type CommitFn = (offset: CommitOffset) => Promise<boolean>;

export class PartitionCommits {
  readonly #topic: string;
  readonly #partition: number;
  readonly #commit: CommitFn;
  readonly #intervalMs: number;
  readonly #now: () => number;
  /** The last message handled and not committed yet (undefined: nothing to commit). */
  #handled: string | undefined;
  #last: number;

  constructor(topic: string, partition: number, commit: CommitFn, intervalMs: number, now: () => number = Date.now) {
    this.#topic = topic;
    this.#partition = partition;
    this.#commit = commit;
    this.#intervalMs = intervalMs;
    this.#now = now;
    // A new batch counts as a commit: the first flush by interval comes one interval into the walk.
    this.#last = now();
  }

  /** The message at `offset` was handled (called per message: the commit's arithmetic waits for flush). */
  handled(offset: string): void {
    this.#handled = offset;
  }

  /** Whether the interval since the last commit has passed with something to commit. */
  due(): boolean {
    return this.#handled !== undefined && this.#now() - this.#last >= this.#intervalMs;
  }

  /**
   * Commits what was handled, if anything. A failed commit keeps the offset for the next flush
   * (a later one covers it; if none comes, the messages are delivered again).
   */
  async flush(): Promise<void> {
    const handled = this.#handled;
    if (handled === undefined) return;
    this.#last = this.#now();
    // Kafka stores the next offset to read: the last handled + 1.
    const offset = (BigInt(handled) + 1n).toString();
    const committed = await this.#commit({ topic: this.#topic, partition: this.#partition, offset });
    if (committed && this.#handled === handled) this.#handled = undefined;
  }
}
