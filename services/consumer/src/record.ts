/**
 * What a consumer does with one delivered record. The outcome decides whether the bus may commit
 * its offset: every path that returns has made the record's fate durable (applied, found to be a
 * duplicate, or written to the dead-letter topic); every path that throws leaves the offset alone
 * so the bus retries it (validator or database unavailable, dead-letter topic unwritable).
 */
import type { DeliveredMessage, Producer } from '@gatehouse/event-bus';
import { type AcceptedEvent, deadLetterRecord, type EventRecord, isEventRefusal } from '@gatehouse/events';
import { type AuditLog, hashSubject, type Logger } from '@gatehouse/observability';
import type { Database, Queryable } from '@gatehouse/sql';
import type { ConsumerMetrics } from './metrics.ts';
import { claimEvent } from './processed-events.ts';
import { isEventRejected } from './rejection.ts';

/** The business effect of one accepted event, inside the transaction that records its id. */
export type ApplyEvent = (event: AcceptedEvent, tx: Queryable) => Promise<void>;

export interface EventVerifier {
  verify(record: EventRecord): Promise<AcceptedEvent>;
}

export type RecordOutcome = 'applied' | 'duplicate' | 'dead-lettered';

export interface RecordHandlerOptions {
  consumer: string;
  dlqTopic: string;
  verifier: EventVerifier;
  db: Database;
  producer: Producer;
  apply: ApplyEvent;
  audit: AuditLog;
  metrics: ConsumerMetrics;
  logger: Logger;
  now: () => number;
}

const PRINTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `topic/partition/offset`: the dlq-origin header and the audit's pointer back to the log. */
export function originOf(message: DeliveredMessage): string {
  return `${message.topic}/${message.partition}/${message.offset}`;
}

/** Handles one record; `verified` is its verification when already started (the bus's prepare). */
export type RecordHandler = (message: DeliveredMessage, verified?: Promise<AcceptedEvent>) => Promise<RecordOutcome>;

export function recordHandler(options: RecordHandlerOptions): RecordHandler {
  const { consumer, audit, metrics, logger } = options;

  async function deadLetter(message: DeliveredMessage, reason: string): Promise<RecordOutcome> {
    const origin = originOf(message);
    const record = deadLetterRecord(
      { key: message.key, value: message.value, headers: message.headers },
      { reason, consumer, origin, now: new Date(options.now()) },
    );
    // Throws when the dead-letter topic cannot be written: the record is retried, never dropped.
    await options.producer.send(options.dlqTopic, [record]);
    metrics.refused(reason);
    metrics.deadLettered();
    // The id is the record's unverified claim (it may be why it was refused): printed only when
    // it is a plain short string, so a hostile header cannot reshape the audit line.
    const claimedId = message.headers.ce_id;
    audit.record({
      event: 'event.refused',
      outcome: 'denied',
      reason,
      consumer,
      ...(claimedId !== undefined && PRINTABLE_ID.test(claimedId) ? { event_id: claimedId } : {}),
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
    });
    logger.warn({ reason, origin, dlq: options.dlqTopic }, 'event refused and dead-lettered');
    return 'dead-lettered';
  }

  async function applyOnce(event: AcceptedEvent): Promise<'applied' | 'duplicate'> {
    return options.db.transaction(async (tx) => {
      const first = await claimEvent(tx, {
        consumer,
        eventId: event.attributes.id,
        type: event.attributes.type,
        basis: event.basis,
      });
      if (!first) return 'duplicate';
      await options.apply(event, tx);
      return 'applied';
    });
  }

  function auditReplay(event: AcceptedEvent, outcome: 'applied' | 'duplicate'): void {
    const eventTime = Date.parse(event.attributes.time);
    audit.record({
      event: 'event.accepted_under_replay',
      outcome: 'success',
      consumer,
      event_id: event.attributes.id,
      type: event.attributes.type,
      replay_client: event.replay?.clientId,
      grant_id: event.replay?.grantId,
      replay_id: event.replay?.replayId,
      token_jti: event.principal.jti,
      sub: hashSubject(event.principal.sub),
      age_seconds: Number.isNaN(eventTime) ? undefined : Math.floor((options.now() - eventTime) / 1000),
      duplicate: outcome === 'duplicate',
    });
  }

  return async function handle(message, verified) {
    let event: AcceptedEvent;
    try {
      event = await (verified ?? options.verifier.verify(message));
    } catch (error) {
      // Anything else (ValidatorUnavailableError above all) is transient: rethrown, retried.
      if (isEventRefusal(error)) return deadLetter(message, error.code);
      throw error;
    }
    let outcome: 'applied' | 'duplicate';
    try {
      outcome = await applyOnce(event);
    } catch (error) {
      // Rolled back, id included: the dead-lettered record can be fixed and re-published.
      if (isEventRejected(error)) return deadLetter(message, error.code);
      throw error;
    }
    if (outcome === 'applied') metrics.processed(event.basis);
    else metrics.deduplicated();
    if (event.basis === 'replay') {
      metrics.replayed();
      auditReplay(event, outcome);
    }
    logger.debug({ event_id: event.attributes.id, outcome, basis: event.basis }, 'event handled');
    return outcome;
  };
}
