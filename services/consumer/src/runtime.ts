/**
 * startConsumer: one consumer group member that verifies, dedupes, applies or dead-letters every
 * record of its topic. The bus commits a record's offset only after handle resolves (in batches), so
 * a record is either done (applied, duplicate, dead-lettered) or will be seen again. Records are verified
 * ahead of their turn (the bus's prepare lookahead), applied one at a time in offset order.
 */
import type { Consumer, EventBus } from '@gatehouse/event-bus';
import { createEventVerifier, createSignaturePool, type ExpiryPolicy } from '@gatehouse/events';
import type { AuditLog, Logger, Metrics } from '@gatehouse/observability';
import type { Database } from '@gatehouse/sql';
import type { Validator } from '@gatehouse/validator';
import { consumerMetrics } from './metrics.ts';
import { type ApplyEvent, type EventVerifier, originOf, recordHandler } from './record.ts';

export interface StartConsumerOptions {
  /** 'shipping', 'invoicing': the dlq-consumer header, the metrics' consumer label, the dedupe key. */
  name: string;
  /** The message token's required aud, e.g. urn:gatehouse:consumer:shipping. */
  audience: string;
  topic: string;
  dlqTopic: string;
  groupId: string;
  bus: EventBus;
  db: Database;
  validator: Validator;
  policy: ExpiryPolicy;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
  apply: ApplyEvent;
  /** A new group starts at the beginning of the topic (default): orders placed before it joined count. */
  fromBeginning?: boolean;
  /** Millisecond clock, for tests. */
  now?: () => number;
  /** RemoteKeySource.usable: a JWKS outage then retries records instead of dead-lettering them. */
  keysUsable?: () => boolean;
  /** Event proofs checked on this many worker threads (a signature pool), default 0: on the event loop. */
  verifyThreads?: number;
  /** What an event proof may be signed with (EVENT_PROOF_ALGORITHMS); the verifier's default otherwise. */
  proofAlgorithms?: string[];
  /** Tests only: a verifier other than @gatehouse/events' own. */
  verifier?: EventVerifier;
}

export interface RunningConsumer {
  readonly name: string;
  /** Finishes the record in hand (and commits it), then leaves the group. */
  stop(): Promise<void>;
}

export async function startConsumer(options: StartConsumerOptions): Promise<RunningConsumer> {
  const now = options.now ?? Date.now;
  const metrics = consumerMetrics(options.metrics, options.name);
  const logger = options.logger.child({ consumer: options.name });
  const signatures =
    options.verifyThreads && !options.verifier ? createSignaturePool({ threads: options.verifyThreads }) : undefined;
  const verifier =
    options.verifier ??
    createEventVerifier({
      validator: options.validator,
      audience: options.audience,
      policy: options.policy,
      now,
      ...(options.keysUsable ? { keysUsable: options.keysUsable } : {}),
      ...(signatures ? { signatures } : {}),
      ...(options.proofAlgorithms ? { proofAlgorithms: options.proofAlgorithms } : {}),
    });
  const producer = await options.bus.producer().catch(async (error: unknown) => {
    await signatures?.close();
    throw error;
  });
  const handle = recordHandler({
    consumer: options.name,
    dlqTopic: options.dlqTopic,
    verifier,
    db: options.db,
    producer,
    apply: options.apply,
    audit: options.audit,
    metrics,
    logger,
    now,
  });
  let consumer: Consumer;
  try {
    consumer = await options.bus.consume({
      groupId: options.groupId,
      topics: [options.topic],
      fromBeginning: options.fromBeginning ?? true,
      // Verification has no side effects: the bus runs it for the next records while this one is
      // applied, so their proof checks (on the signature pool's threads) overlap its database
      // work. A record whose handling failed is verified again on its
      // retry (the bus passes nothing then).
      prepare: (message) => verifier.verify(message),
      handle: async (message, verified) => {
        await handle(message, verified);
      },
      onError: (error, message) => {
        metrics.retried();
        // Name and code only: a driver's message may quote values, never a token.
        const { name, code, message: text } = (error ?? {}) as { name?: string; code?: string; message?: string };
        logger.warn({ err: { name, code, message: text }, origin: originOf(message) }, 'event handling failed, will retry');
      },
    });
  } catch (error) {
    await producer.disconnect().catch(() => {});
    await signatures?.close();
    throw error;
  }
  logger.info({ topic: options.topic, groupId: options.groupId, dlq: options.dlqTopic }, 'consumer started');
  let stopped: Promise<void> | undefined;
  return {
    name: options.name,
    stop() {
      stopped ??= (async () => {
        await consumer.stop();
        await producer.disconnect();
        await signatures?.close();
      })();
      return stopped;
    },
  };
}
