/**
 * The Kafka consumer's walk over one partition's fetched batch (kafkajs eachBatch), in offset order:
 * each message converted to the contract's form as the walk and its lookahead reach it, prepared
 * ahead (lookahead.ts), handled until done, its offset resolved in kafkajs and recorded for the
 * partition's commits (kafka-commits.ts), which it flushes when due, when the walk ends (the batch
 * done, stop, a seek) and when a heartbeat throws (a rebalance), before the error goes on to kafkajs.
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { type CommitFn, PartitionCommits } from './kafka-commits.ts';
import { Lookahead } from './lookahead.ts';
import type { ConsumerOptions, DeliveredMessage, Headers } from './types.ts';

function headerValue(value: Buffer | string): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : value;
}

/** kafkajs gathers a repeated header into an array; keep the last value and name the repeat. */
function toHeaders(raw: IHeaders | undefined): { headers: Headers; duplicates: string[] } {
  const headers: Headers = {};
  const duplicates: string[] = [];
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      if (value.length === 0) continue;
      if (value.length > 1) duplicates.push(name);
      headers[name] = headerValue(value[value.length - 1]!);
    } else {
      headers[name] = headerValue(value);
    }
  }
  return { headers, duplicates };
}

export function toDelivered(topic: string, partition: number, message: KafkaMessage): DeliveredMessage {
  const { headers, duplicates } = toHeaders(message.headers);
  const delivered: DeliveredMessage = {
    topic,
    partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key === null ? null : message.key.toString('utf8'),
    // A null value (a tombstone) arrives as an empty value: the contract's values are Buffers.
    value: message.value ?? Buffer.alloc(0),
    headers,
  };
  if (duplicates.length > 0) delivered.duplicateHeaders = duplicates;
  return delivered;
}

/** What the walk uses of kafkajs' EachBatchPayload. */
export interface FetchedBatch {
  batch: { topic: string; partition: number; messages: KafkaMessage[] };
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
  resolveOffset(offset: string): void;
}

export interface WalkOptions<P> {
  consumer: Pick<ConsumerOptions<P>, 'prepare' | 'lookahead'>;
  commit: CommitFn;
  commitIntervalMs: number;
  /** The consumer is stopping: the walk ends after the message in hand. */
  signal: AbortSignal;
  /** Handles one message until it is done; false when abandoned by stop (nothing to commit). */
  handle(message: DeliveredMessage, prepared: Promise<P> | undefined, commits: PartitionCommits): Promise<boolean>;
  /** Millisecond clock, for tests. */
  now?: () => number;
}

export async function walkBatch<P>(fetched: FetchedBatch, options: WalkOptions<P>): Promise<void> {
  const { batch, heartbeat, isRunning, isStale, resolveOffset } = fetched;
  const { signal } = options;
  // Converted as the walk and its lookahead reach them, not the whole batch up front: a fetch
  // hands over every partition's batch (~1 MB each) in one event-loop turn, and converting them
  // all first held back each partition's first records and their checks.
  const messages: DeliveredMessage[] = [];
  const lookahead = new Lookahead(options.consumer);
  const commits = new PartitionCommits(batch.topic, batch.partition, options.commit, options.commitIntervalMs, options.now);
  try {
    for (let index = 0; index < batch.messages.length; index++) {
      if (!isRunning() || isStale() || signal.aborted) break;
      const end = Math.min(batch.messages.length, index + lookahead.reach() + 1);
      while (messages.length < end) messages.push(toDelivered(batch.topic, batch.partition, batch.messages[messages.length]!));
      const message = messages[index]!;
      if (!(await options.handle(message, lookahead.take(messages, index), commits))) break;
      commits.handled(message.offset);
      resolveOffset(message.offset);
      if (signal.aborted) break;
      if (commits.due()) await commits.flush();
      // A rebalance shows here (the heartbeat throws): what was handled is committed before the
      // partition goes to its next owner, as kafkajs' own auto-commit does. (Apache Kafka takes a
      // commit while the group prepares a rebalance; librdkafka's mock broker refuses it.)
      await heartbeat();
    }
  } finally {
    lookahead.clear();
    await commits.flush();
  }
}
