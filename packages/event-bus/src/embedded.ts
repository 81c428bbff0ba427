/**
 * The embedded event bus: Kafka's semantics (see types.ts) in one process, for the all-in-one
 * development stack (`npm start`) and tests. Everything lives in memory and is lost on restart;
 * a deployment that must not lose events uses the Kafka adapter.
 */
import type { RetryBackoff } from './backoff.ts';
import { checkConsumerOptions, checkOutgoing, checkPartitions, checkTopic } from './checks.ts';
import { createGroups } from './embedded-group.ts';
import { createLog } from './embedded-log.ts';
import { EventBusError } from './errors.ts';
import type { Consumer, DeliveredMessage, EventBus, Producer } from './types.ts';

export interface EmbeddedBusOptions {
  /** Partitions of every topic (created on first use), default 3. */
  partitions?: number;
  /** Retention cap per partition, default 10 000 messages: the oldest are dropped first. */
  maxMessagesPerPartition?: number;
  /** Wait before a failed message is handled again. */
  retry?: RetryBackoff;
}

export interface EmbeddedBus extends EventBus {
  readonly kind: 'embedded';
  /** Every retained message of a topic (copies), partition by partition: for tests and dev tooling. */
  messages(topic: string): DeliveredMessage[];
}

export function createEmbeddedBus(options: EmbeddedBusOptions = {}): EmbeddedBus {
  const log = createLog({
    partitions: checkPartitions(options.partitions ?? 3),
    maxMessagesPerPartition: options.maxMessagesPerPartition ?? 10_000,
  });
  const groups = createGroups(log, options.retry ?? {});
  let closed = false;

  const refuseWhenClosed = () => {
    if (closed) throw new EventBusError('ERR_BUS_CLOSED', 'the embedded event bus is closed');
  };

  const producer = (): Producer => {
    let disconnected = false;
    return {
      async send(topic, messages) {
        refuseWhenClosed();
        if (disconnected) throw new EventBusError('ERR_BUS_CLOSED', 'this producer is disconnected');
        checkOutgoing(topic, messages);
        for (const message of messages) log.append(topic, message);
      },
      async disconnect() {
        disconnected = true;
      },
    };
  };

  return {
    kind: 'embedded',
    async producer() {
      refuseWhenClosed();
      return producer();
    },
    async consume(consumerOptions): Promise<Consumer> {
      refuseWhenClosed();
      checkConsumerOptions(consumerOptions);
      return groups.join(consumerOptions);
    },
    async ensureTopics(topics) {
      refuseWhenClosed();
      for (const topic of topics) {
        checkTopic(topic);
        log.ensure(topic);
      }
    },
    async ping() {
      return !closed;
    },
    async close() {
      closed = true;
      await groups.stopAll();
    },
    messages(topic) {
      checkTopic(topic);
      return log.all(topic);
    },
  };
}
