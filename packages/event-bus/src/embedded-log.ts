/**
 * The embedded bus' storage: per topic, a fixed number of partitions, each an append-only list
 * with Kafka's offsets. In memory only: everything is lost when the process ends, which is why
 * the embedded bus is for the all-in-one development stack and tests, never production.
 */
import { copyMessage } from './message.ts';
import { partitionForKey } from './murmur2.ts';
import type { DeliveredMessage, OutgoingMessage } from './types.ts';

interface Partition {
  /** Offset of messages[0]: rises when old messages are dropped past the retention cap. */
  start: number;
  messages: DeliveredMessage[];
  /** Called once on the next append (consumers waiting for data). */
  waiting: Set<() => void>;
}

export interface LogOptions {
  partitions: number;
  /** Retention cap per partition; the oldest messages go first, like Kafka's retention. */
  maxMessagesPerPartition: number;
}

export interface Log {
  /** The topic's partition count, creating the topic (like Kafka's auto-creation) if needed. */
  ensure(topic: string): number;
  append(topic: string, message: OutgoingMessage): DeliveredMessage;
  /** The message at offset, or undefined at the end of the partition. */
  read(topic: string, partition: number, offset: number): DeliveredMessage | undefined;
  start(topic: string, partition: number): number;
  end(topic: string, partition: number): number;
  /** Resolves on the next append to that partition (or when `cancel` is called). */
  nextAppend(topic: string, partition: number): { appended: Promise<void>; cancel(): void };
  /** Every retained message of a topic, partition by partition, in offset order. */
  all(topic: string): DeliveredMessage[];
}

export function createLog(options: LogOptions): Log {
  const topics = new Map<string, Partition[]>();
  const roundRobin = new Map<string, number>();

  const partitionsOf = (topic: string): Partition[] => {
    let partitions = topics.get(topic);
    if (!partitions) {
      partitions = Array.from({ length: options.partitions }, () => ({ start: 0, messages: [], waiting: new Set() }));
      topics.set(topic, partitions);
    }
    return partitions;
  };
  const partitionOf = (topic: string, partition: number): Partition => {
    const found = partitionsOf(topic)[partition];
    if (!found) throw new RangeError(`${topic} has no partition ${partition}`);
    return found;
  };

  // Same key, same partition (Kafka's murmur2); a null key is spread round-robin.
  const choosePartition = (topic: string, key: string | null, count: number): number => {
    if (key !== null) return partitionForKey(key, count);
    const next = roundRobin.get(topic) ?? 0;
    roundRobin.set(topic, next + 1);
    return next % count;
  };

  return {
    ensure: (topic) => partitionsOf(topic).length,
    append(topic, message) {
      const partitions = partitionsOf(topic);
      const index = choosePartition(topic, message.key, partitions.length);
      const partition = partitions[index]!;
      const delivered: DeliveredMessage = {
        topic,
        partition: index,
        offset: String(partition.start + partition.messages.length),
        timestamp: String(Date.now()),
        key: message.key,
        value: Buffer.from(message.value),
        headers: { ...message.headers },
      };
      partition.messages.push(delivered);
      if (partition.messages.length > options.maxMessagesPerPartition) {
        partition.messages.shift();
        partition.start += 1;
      }
      const waiting = [...partition.waiting];
      partition.waiting.clear();
      for (const wake of waiting) wake();
      return delivered;
    },
    read(topic, partition, offset) {
      const found = partitionOf(topic, partition);
      return found.messages[offset - found.start];
    },
    start: (topic, partition) => partitionOf(topic, partition).start,
    end(topic, partition) {
      const found = partitionOf(topic, partition);
      return found.start + found.messages.length;
    },
    nextAppend(topic, partition) {
      const found = partitionOf(topic, partition);
      let wake: () => void = () => {};
      const appended = new Promise<void>((resolve) => {
        wake = resolve;
      });
      found.waiting.add(wake);
      return {
        appended,
        cancel() {
          found.waiting.delete(wake);
          wake();
        },
      };
    },
    all: (topic) => (topics.get(topic) ?? []).flatMap((partition) => partition.messages.map(copyMessage)),
  };
}
