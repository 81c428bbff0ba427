/**
 * The event bus contract: what producers and consumers of Gatehouse events need from a log-based
 * broker, and nothing more. Two adapters implement it with the same semantics: Kafka (kafkajs) and
 * an embedded in-process log for the all-in-one dev stack. One contract suite tests both.
 *
 * Semantics both adapters keep:
 * - A topic has a fixed number of partitions; a message's key picks its partition (same key, same
 *   partition, so one order's events stay in order). A null key is spread round-robin.
 * - Offsets are per partition, strings of decimal integers (Kafka's convention), starting at "0".
 * - Consumers in one group share a topic's partitions; each group sees every message.
 * - A group with no committed offset starts at the beginning when fromBeginning is true, else at
 *   the end (messages produced after it joined).
 * - at-least-once: a message's offset is committed only after `handle` resolves. If `handle`
 *   throws, the message is retried (after a backoff) and nothing after it in that partition is
 *   handled before it; the consumer never skips it on its own.
 */

export type Headers = Record<string, string>;

/** A message as produced. Header values are UTF-8 strings (binary-mode CloudEvents are). */
export interface OutgoingMessage {
  key: string | null;
  value: Buffer;
  headers: Headers;
}

/** A message as delivered to a consumer. */
export interface DeliveredMessage extends OutgoingMessage {
  topic: string;
  partition: number;
  offset: string;
  /** Broker timestamp, milliseconds since the epoch, as a decimal string (kafkajs' form). */
  timestamp: string;
  /**
   * Added by event-bus: header names the record carried more than once (Kafka allows repeats;
   * `headers` holds the last value, as Java's lastHeader does). Absent when there were none. A
   * verifier can refuse such a record: which of the values did the producer mean?
   */
  duplicateHeaders?: string[];
}

export interface Producer {
  /**
   * Resolves once every message is acknowledged by the broker (Kafka: idempotent producer, acks
   * all). Rejects with the transport's error when it cannot be delivered; the caller retries.
   */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface ConsumerOptions<P = unknown> {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  /**
   * Optional work started ahead of `handle`: called, in offset order, for up to `lookahead`
   * messages of a partition that the consumer holds but has not handled yet, without waiting for
   * the earlier ones. For side-effect-free work that runs off the event loop (a signature check on
   * libuv's thread pool), so it overlaps the handling and commits of earlier messages. Its promise
   * is handed to `handle` on the first attempt only; a retry gets none and does the work again.
   * A message prepared but never handled (a rebalance, stop) is dropped: nothing depends on it.
   */
  prepare?(message: DeliveredMessage): Promise<P>;
  /** Messages per partition prepared ahead of the one being handled, default 32 (1-1000). */
  lookahead?: number;
  /**
   * Called once per message, in offset order per partition. Throw to have it retried. `prepared`
   * is `prepare`'s promise for this message (may reject: await it where a failure is handled).
   */
  handle(message: DeliveredMessage, prepared?: Promise<P>): Promise<void>;
  /** Called when handle throws (for logs/metrics); the message is then retried. */
  onError?(error: unknown, message: DeliveredMessage): void;
}

export interface Consumer {
  /** Stops fetching, lets the message in hand finish (and commit), then leaves the group. */
  stop(): Promise<void>;
}

export interface EventBus {
  /** 'kafka' or 'embedded': shown in logs and readiness. */
  readonly kind: 'kafka' | 'embedded';
  producer(): Promise<Producer>;
  consume<P>(options: ConsumerOptions<P>): Promise<Consumer>;
  /**
   * Added by event-bus: creates the topics that do not exist yet (start-up of a deployable).
   * Embedded: always. Kafka: tries CreateTopics and only logs a refusal (no ACL, a broker that
   * lacks the API): production topics are created by the platform (compose, k8s).
   */
  ensureTopics(topics: string[]): Promise<void>;
  /** True when the broker answers (readiness). */
  ping(): Promise<boolean>;
  /** Disconnects every producer and consumer made by this bus. */
  close(): Promise<void>;
}
