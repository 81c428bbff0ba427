/**
 * A consumer of the Kafka adapter over kafkajs, keeping the contract of types.ts:
 * - autoCommit is off; only offsets of handled messages are committed, in batches
 *   (kafka-commits.ts: every commitIntervalMs, at the end of each fetched batch, before retries,
 *   before a rebalance, on stop) rather than one round trip per message.
 * - Each fetched batch is walked in offset order (kafka-walk.ts; eachBatch: `prepare` needs the
 *   messages after the one in hand), resolving offsets one by one as kafkajs' eachMessage loop does.
 * - A failing `handle` is retried in place, after a backoff, heartbeating meanwhile; later
 *   messages of its partition wait. kafkajs' own answer to a throwing handler is to restart
 *   its fetch loop and, after its retries, the whole consumer (a rejoin and a re-fetch); retrying
 *   here keeps the membership. Other partitions finish the batches already fetched
 *   (partitionsConsumedConcurrently), but kafkajs fetches again from a broker only once every
 *   batch of its last fetch is done: a stuck message holds back its broker's partitions.
 * - A rebalance during the retries (heartbeat throws) hands the uncommitted message to the
 *   partition's next owner; stop() abandons the retries the same way.
 * - stop() waits for the batch walks in hand (their message finishes, their offsets are
 *   committed) before stopping kafkajs, which drops commits silently once its runner is stopping.
 */
import type { Logger } from '@gatehouse/observability';
import type { Consumer as KafkaJsConsumer, Kafka } from 'kafkajs';
import { interruptibleSleep, type RetryBackoff, retryDelay } from './backoff.ts';
import { EventBusError } from './errors.ts';
import type { CommitOffset, PartitionCommits } from './kafka-commits.ts';
import { walkBatch } from './kafka-walk.ts';
import { copyMessage } from './message.ts';
import type { Consumer, ConsumerOptions, DeliveredMessage } from './types.ts';

export interface KafkaConsumerTuning {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Fetch long-poll: also how long stop() may wait for a fetch in flight. */
  maxWaitMs: number;
  partitionsConsumedConcurrently: number;
  /** consume() resolves once the group is joined and start positions fixed, or fails after this. */
  startTimeoutMs: number;
  /** Longest a partition's walk goes on with handled offsets uncommitted (0: commit each message). */
  commitIntervalMs: number;
}

interface Context {
  kafka: Kafka;
  tuning: KafkaConsumerTuning;
  backoff: RetryBackoff;
  logger: Logger;
  /** Called when kafkajs gives up on this consumer (a crash it will not restart from). */
  onDead(error: unknown): void;
}

/** Sleeps out a backoff in heartbeat-sized steps, so a long backoff does not cost the membership. */
async function backoffWithHeartbeats(ms: number, heartbeat: () => Promise<void>, interval: number, signal: AbortSignal) {
  const until = Date.now() + ms;
  while (!signal.aborted && Date.now() < until) {
    await interruptibleSleep(Math.min(interval, until - Date.now()), signal);
    if (!signal.aborted) await heartbeat();
  }
}

function resolveOnReady(consumer: KafkaJsConsumer) {
  let joined = false;
  let settle: { resolve(): void; reject(error: unknown): void } = { resolve() {}, reject() {} };
  const ready = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // kafkajs fixes start positions (committed, or earliest/latest) at the first fetch after the
  // join: waiting for it gives "messages produced after consume() resolved" a meaning.
  const removers = [
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    }),
    consumer.on(consumer.events.FETCH, () => {
      if (joined) settle.resolve();
    }),
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) settle.reject(event.payload.error);
    }),
  ];
  return { ready, done: () => removers.forEach((remove) => remove()) };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EventBusError('ERR_BUS_CONSUMER_START', message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function startKafkaConsumer<P>(context: Context, options: ConsumerOptions<P>): Promise<Consumer> {
  const { kafka, tuning, backoff } = context;
  const logger = context.logger.child({ groupId: options.groupId });
  const consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: tuning.sessionTimeoutMs,
    heartbeatInterval: tuning.heartbeatIntervalMs,
    maxWaitTimeInMs: tuning.maxWaitMs,
    allowAutoTopicCreation: true,
  });
  const stopping = new AbortController();
  /** Batch walks in progress (one per partition at most): each ends by committing what it handled. */
  const inHand = new Set<Promise<void>>();

  const commit = async ({ topic, partition, offset }: CommitOffset): Promise<boolean> => {
    try {
      await consumer.commitOffsets([{ topic, partition, offset }]);
      return true;
    } catch (error) {
      // The messages were handled: a later commit of this partition covers them, and if none comes
      // they are delivered again (at-least-once; consumers dedupe by event id).
      logger.warn({ err: error, topic, partition, offset }, 'offset commit failed');
      return false;
    }
  };

  /** Resolves true once `handle` resolved, false when abandoned by stop() (nothing to commit). */
  const handleUntilDone = async (
    message: DeliveredMessage,
    heartbeat: () => Promise<void>,
    prepared: Promise<P> | undefined,
    commits: PartitionCommits,
  ): Promise<boolean> => {
    for (let failures = 1; ; failures++) {
      // Abandoned, not skipped: nothing is committed, the partition's next owner gets it.
      if (stopping.signal.aborted) return false;
      try {
        // The prepared work is for the first attempt: a retry (the failure may have been an
        // outage) does it again.
        await options.handle(copyMessage(message), failures === 1 ? prepared : undefined);
        return true;
      } catch (error) {
        try {
          options.onError?.(error, copyMessage(message));
        } catch {
          // A failing error callback must not turn a retry into a skip.
        }
        // The retries may last as long as an outage: the messages handled before this one are
        // committed first, so a restart meanwhile does not deliver them again.
        if (failures === 1) await commits.flush();
        const delay = retryDelay(failures, backoff);
        logger.debug({ topic: message.topic, partition: message.partition, offset: message.offset, failures, delay }, 'handle failed, retrying');
        await backoffWithHeartbeats(delay, heartbeat, tuning.heartbeatIntervalMs, stopping.signal);
      }
    }
  };

  const { ready, done } = resolveOnReady(consumer);
  const removeCrashWatch = consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart && !stopping.signal.aborted) context.onDead(event.payload.error);
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? false });
    await consumer.run({
      autoCommit: false,
      // Offsets are resolved one by one below, as kafkajs' own eachMessage loop does: a batch cut
      // short (stop, rebalance) is fetched again from the first message not handled.
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently,
      // eachBatch rather than eachMessage: prepare (the lookahead) needs the messages after the
      // one being handled.
      eachBatch: async (payload) => {
        const walking = walkBatch(payload, {
          consumer: options,
          commit,
          commitIntervalMs: tuning.commitIntervalMs,
          signal: stopping.signal,
          handle: (message, prepared, commits) => handleUntilDone(message, payload.heartbeat, prepared, commits),
        });
        inHand.add(walking);
        try {
          await walking;
        } finally {
          inHand.delete(walking);
        }
      },
    });
    await withTimeout(ready, tuning.startTimeoutMs, `consumer ${options.groupId} did not join its group in time`);
  } catch (error) {
    stopping.abort();
    removeCrashWatch();
    await consumer.disconnect().catch(() => {});
    if (error instanceof EventBusError) throw error;
    throw new EventBusError('ERR_BUS_CONSUMER_START', `consumer ${options.groupId} could not start`, { cause: error });
  } finally {
    done();
  }

  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        removeCrashWatch();
        // Finish what is in hand and commit what was handled before kafkajs stops: once its
        // runner is stopping, kafkajs drops commits silently ("consumer not running"). Meanwhile
        // nothing new starts (a walk stops at its next message, handleUntilDone returns at once).
        await Promise.allSettled([...inHand]);
        await consumer.disconnect();
      })();
      return stopped;
    },
  };
}
