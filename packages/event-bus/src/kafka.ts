/**
 * The Kafka adapter over kafkajs 2. Tuned to fail fast and recover on its own: a send to a dead
 * broker rejects within seconds (the outbox relay retries it later), and producers and consumers
 * reconnect when the broker is back, without a restart of the bus.
 */
import type { ConnectionOptions } from 'node:tls';
import { createLogger, type Logger } from '@gatehouse/observability';
import { type Admin, Kafka, Partitioners, type Producer as KafkaJsProducer, type SASLOptions } from 'kafkajs';
import { defaultBackoff, type RetryBackoff } from './backoff.ts';
import { checkConsumerOptions, checkOutgoing, checkPartitions, checkTopic } from './checks.ts';
import { EventBusError } from './errors.ts';
import { type KafkaConsumerTuning, startKafkaConsumer } from './kafka-consumer.ts';
import { kafkajsLevel, kafkajsLogCreator } from './kafka-logger.ts';
import { patchKafkajsRequestQueue } from './kafka-request-queue.ts';
import type { Consumer, EventBus, Producer } from './types.ts';

export interface KafkaSasl {
  mechanism: 'scram-sha-256' | 'scram-sha-512' | 'plain';
  username: string;
  password: string;
}

export interface KafkaTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true; false is for a development broker with a self-signed certificate only. */
  rejectUnauthorized?: boolean;
}

export interface KafkaBusOptions {
  /** host:port of one or more bootstrap brokers. */
  brokers: string[];
  clientId: string;
  /** true: TLS with the system CAs. */
  ssl?: boolean | KafkaTls;
  sasl?: KafkaSasl;
  logger?: Logger;
  /** TCP (and TLS) connect timeout, default 3000 ms: a dead broker is given up on quickly. */
  connectionTimeoutMs?: number;
  /** Default 10 000 ms (kafkajs: 30 000). Longer than the fetch long-poll (maxWaitMs). */
  requestTimeoutMs?: number;
  /**
   * kafkajs retries of one request (send, metadata, commit…), default { retries: 5,
   * initialRetryTime: 100, maxRetryTime: 2000 }: a send to a dead broker rejects within ~10 s
   * (8 s measured against a refused port), transient errors (a leader move) are still retried.
   */
  retry?: { retries?: number; initialRetryTime?: number; maxRetryTime?: number };
  /** Wait before a message whose `handle` threw is handled again. */
  handlerRetry?: RetryBackoff;
  /** Partitions of topics made by ensureTopics, default 3. */
  partitions?: number;
  consumer?: Partial<KafkaConsumerTuning>;
  /** ping() answers false after this, default 2000 ms. */
  pingTimeoutMs?: number;
}

export interface KafkaBus extends EventBus {
  readonly kind: 'kafka';
}

const defaultTuning: KafkaConsumerTuning = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  // The Java client's fetch.max.wait.ms: kafkajs' 5 s default would hold stop() that long.
  maxWaitMs: 500,
  partitionsConsumedConcurrently: 3,
  startTimeoutMs: 30_000,
  // Each fetched batch's end commits too; the interval bounds what a crash delivers again while a
  // slow consumer is still inside a batch (Kafka's Java client: auto.commit.interval.ms, 5 s).
  // kafka-commits.ts says why not 0.
  commitIntervalMs: 1_000,
};

function checkOptions(options: KafkaBusOptions): void {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw new EventBusError('ERR_BUS_OPTIONS', 'kafka: brokers must list at least one host:port');
  }
  for (const broker of options.brokers) {
    if (typeof broker !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(broker)) {
      throw new EventBusError('ERR_BUS_OPTIONS', `kafka: not a host:port broker address: ${JSON.stringify(broker)}`);
    }
  }
  if (typeof options.clientId !== 'string' || options.clientId.length === 0) {
    throw new EventBusError('ERR_BUS_OPTIONS', 'kafka: clientId must be a non-empty string');
  }
  const interval = options.consumer?.commitIntervalMs;
  if (interval !== undefined && !(Number.isInteger(interval) && interval >= 0)) {
    throw new EventBusError('ERR_BUS_OPTIONS', 'kafka: consumer.commitIntervalMs must be an integer of at least 0');
  }
  // kafkajs refuses an idempotent producer that may not retry at all; say so at construction.
  if (options.retry?.retries !== undefined && !(Number.isInteger(options.retry.retries) && options.retry.retries >= 1)) {
    throw new EventBusError('ERR_BUS_OPTIONS', 'kafka: retry.retries must be an integer of at least 1 (idempotent producer)');
  }
}

function saslOption(sasl: KafkaSasl | undefined): SASLOptions | undefined {
  if (!sasl) return undefined;
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
    default:
      throw new EventBusError('ERR_BUS_OPTIONS', `kafka: unsupported SASL mechanism ${String((sasl as KafkaSasl).mechanism)}`);
  }
}

function sslOption(ssl: KafkaBusOptions['ssl']): boolean | ConnectionOptions | undefined {
  if (ssl === undefined || typeof ssl === 'boolean') return ssl;
  return { ...ssl, rejectUnauthorized: ssl.rejectUnauthorized ?? true };
}

function timeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export function createKafkaBus(options: KafkaBusOptions): KafkaBus {
  checkOptions(options);
  const partitions = checkPartitions(options.partitions ?? 3);
  const logger = (options.logger ?? createLogger('event-bus', 'info')).child({ bus: 'kafka' });
  // Without it every connection runs a 1 ms timer for as long as it lives (kafka-request-queue.ts).
  if (!patchKafkajsRequestQueue()) logger.warn('kafkajs is not the version its request-queue fix was written for: connections may poll every 1 ms');
  const retry = { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000, ...options.retry };
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: sslOption(options.ssl),
    sasl: saslOption(options.sasl),
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    enforceRequestTimeout: true,
    retry,
    logLevel: kafkajsLevel(logger.level),
    logCreator: kafkajsLogCreator(logger),
  });
  const tuning = { ...defaultTuning, ...options.consumer };
  const producers = new Set<Producer>();
  const consumers = new Set<Consumer>();
  const dead: unknown[] = [];
  let admin: Admin | undefined;
  let pingAdmin: Admin | undefined;
  let closed = false;

  const refuseWhenClosed = () => {
    if (closed) throw new EventBusError('ERR_BUS_CLOSED', 'the kafka event bus is closed');
  };

  const connectedAdmin = async (ping: boolean): Promise<Admin> => {
    // ping gets its own client without retries: readiness wants "now", not "after backoff".
    let client = ping ? pingAdmin : admin;
    if (!client) {
      client = ping ? kafka.admin({ retry: { retries: 0 } }) : kafka.admin();
      if (ping) pingAdmin = client;
      else admin = client;
    }
    await client.connect();
    return client;
  };

  const wrapProducer = (producer: KafkaJsProducer): Producer => {
    let disconnected = false;
    const wrapped: Producer = {
      async send(topic, messages) {
        refuseWhenClosed();
        if (disconnected) throw new EventBusError('ERR_BUS_CLOSED', 'this producer is disconnected');
        checkOutgoing(topic, messages);
        if (messages.length === 0) return;
        await producer.send({
          topic,
          acks: -1,
          messages: messages.map((message) => ({ key: message.key, value: message.value, headers: { ...message.headers } })),
        });
      },
      async disconnect() {
        disconnected = true;
        producers.delete(wrapped);
        await producer.disconnect();
      },
    };
    return wrapped;
  };

  return {
    kind: 'kafka',
    async producer() {
      refuseWhenClosed();
      const producer = kafka.producer({
        // Idempotent (InitProducerId, sequence numbers): a retried batch is not written twice.
        idempotent: true,
        maxInFlightRequests: 1,
        // Bounded, unlike kafkajs' idempotent default (retry forever): send must fail so the
        // caller (the outbox) keeps the event and tries again later.
        retry,
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: true,
      });
      await producer.connect();
      const wrapped = wrapProducer(producer);
      producers.add(wrapped);
      return wrapped;
    },
    async consume(consumerOptions) {
      refuseWhenClosed();
      checkConsumerOptions(consumerOptions);
      const start = () =>
        startKafkaConsumer(
          {
            kafka,
            tuning,
            backoff: options.handlerRetry ?? defaultBackoff,
            logger,
            onDead(error) {
              dead.push(error);
              logger.error({ err: error, groupId: consumerOptions.groupId }, 'kafka consumer crashed and will not restart');
            },
          },
          consumerOptions,
        );
      const consumer = await startWithRetries(start, logger, consumerOptions.groupId);
      const tracked: Consumer = {
        async stop() {
          consumers.delete(tracked);
          await consumer.stop();
        },
      };
      consumers.add(tracked);
      return tracked;
    },
    async ensureTopics(topics) {
      refuseWhenClosed();
      topics.forEach((topic) => checkTopic(topic));
      try {
        const client = await connectedAdmin(false);
        await client.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true });
      } catch (error) {
        // Not fatal: the platform may create topics (and forbid us to), and some brokers lack
        // the API; a missing topic shows up as failing sends and consumers instead.
        logger.warn({ err: error, topics }, 'could not create topics; expecting them to exist');
      }
    },
    async ping() {
      if (closed || dead.length > 0) return false;
      try {
        const client = await timeout(connectedAdmin(true), options.pingTimeoutMs ?? 2_000);
        await timeout(client.describeCluster(), options.pingTimeoutMs ?? 2_000);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...consumers].map((consumer) => consumer.stop()));
      await Promise.allSettled([...producers].map((producer) => producer.disconnect()));
      await Promise.allSettled([admin?.disconnect(), pingAdmin?.disconnect()]);
    },
  };
}

/** Attempts at joining a group; a failed attempt has disconnected its consumer already. */
const START_ATTEMPTS = 3;

/**
 * A group join can fail on the broker's side of a rebalance (a coordinator answering SyncGroup with
 * an error while another member joins: seen with librdkafka's mock cluster, and coordinator moves
 * do it on real clusters). kafkajs retries only some of those; one such answer must not fail a
 * consumer's start, so a protocol error at start is retried a few times, with a short pause.
 */
export async function startWithRetries<T>(start: () => Promise<T>, logger: Logger, groupId: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const cause = (error as { cause?: { name?: unknown } }).cause;
      const protocol = typeof cause?.name === 'string' && cause.name.startsWith('KafkaJS');
      if (!protocol || attempt >= START_ATTEMPTS) throw error;
      logger.warn({ err: cause, groupId, attempt }, 'consumer could not join its group; retrying');
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
