/**
 * `events tail`: reads a topic and prints each record decoded (CloudEvent attributes, data, the
 * message token's claims, the proof, any replay grant) with the verdict each consumer would reach.
 *
 * It verifies, it never trusts: the decoded parts are display only (inspectEvent), and the verdict
 * comes from the consumers' own verifier with their own expiry policy, run against the token
 * service's published keys. Consuming uses a throw-away group, so it never moves a real
 * consumer's offsets.
 */
import { randomUUID } from 'node:crypto';
import type { DeliveredMessage, EventBus } from '@gatehouse/event-bus';
import {
  type EventVerifier,
  type ExpiryPolicy,
  createEventVerifier,
  type InspectedEvent,
  inspectEvent,
  isEventRefusal,
} from '@gatehouse/events';
import type { Validator } from '@gatehouse/validator';

/** The consumers a record may be meant for: name → audience. */
export const CONSUMERS: Readonly<Record<string, string>> = Object.freeze({
  shipping: 'urn:gatehouse:consumer:shipping',
  invoicing: 'urn:gatehouse:consumer:invoicing',
});

export interface Verdict {
  consumer: string;
  outcome: 'accepted' | 'refused' | 'unavailable';
  /** fresh | replay when accepted; the refusal code otherwise. */
  detail: string;
}

export interface TailedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  inspected: InspectedEvent;
  /** The gatehouse-dlq-* headers of a dead-lettered record. */
  deadLetter: Record<string, string>;
  verdicts: Verdict[];
}

export interface Verdicts {
  judge(message: DeliveredMessage): Promise<Verdict[]>;
}

export interface VerdictOptions {
  /** These consumers' verdicts only (default: every consumer). */
  only?: string[] | undefined;
  /** EVENT_PROOF_ALGORITHMS, as the consumers are configured; the verifier's default otherwise. */
  proofAlgorithms?: string[];
}

/** One verifier per consumer, as the consumers themselves build them. */
export function consumerVerdicts(validator: Validator, policy: ExpiryPolicy, options: VerdictOptions = {}): Verdicts {
  const { only, proofAlgorithms } = options;
  const names = only && only.length > 0 ? only : Object.keys(CONSUMERS);
  const verifiers = new Map<string, EventVerifier>();
  for (const name of names) {
    const audience = CONSUMERS[name];
    if (audience === undefined) throw new Error(`unknown consumer ${name} (known: ${Object.keys(CONSUMERS).join(', ')})`);
    verifiers.set(name, createEventVerifier({ validator, audience, policy, ...(proofAlgorithms ? { proofAlgorithms } : {}) }));
  }
  return {
    async judge(message) {
      const verdicts: Verdict[] = [];
      for (const [consumer, verifier] of verifiers) {
        try {
          const accepted = await verifier.verify(message);
          verdicts.push({ consumer, outcome: 'accepted', detail: accepted.basis });
        } catch (error) {
          if (isEventRefusal(error)) verdicts.push({ consumer, outcome: 'refused', detail: error.code });
          else verdicts.push({ consumer, outcome: 'unavailable', detail: (error as Error).message });
        }
      }
      return verdicts;
    },
  };
}

export interface TailOptions {
  bus: EventBus;
  topic: string;
  verdicts: Verdicts;
  fromBeginning?: boolean;
  /** Stop after this many records (default: run until stopped). */
  limit?: number;
  onRecord(record: TailedRecord): void;
}

/** Resolves when `limit` records were printed, or when the returned stop() is called. */
export async function tail(options: TailOptions): Promise<{ done: Promise<void>; stop(): Promise<void> }> {
  let seen = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const consumer = await options.bus.consume({
    groupId: `gatehouse-events-tail-${randomUUID()}`,
    topics: [options.topic],
    fromBeginning: options.fromBeginning ?? true,
    async handle(message) {
      if (options.limit !== undefined && seen >= options.limit) return;
      seen += 1;
      options.onRecord({
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        key: message.key,
        inspected: inspectEvent(message),
        deadLetter: deadLetterHeaders(message.headers),
        verdicts: await options.verdicts.judge(message),
      });
      if (options.limit !== undefined && seen >= options.limit) finish();
    },
  });
  const stop = async () => {
    await consumer.stop();
    finish();
  };
  return { done, stop };
}

/** The human-readable form: one block per record. */
export function formatRecord(record: TailedRecord): string {
  const { inspected } = record;
  const lines = [`── ${record.topic}/${record.partition}@${record.offset}  key=${record.key ?? '(none)'}`];
  const a = inspected.attributes;
  if (a) lines.push(`   event     ${a.type}  id=${a.id}  source=${a.source}  time=${a.time}${a.subject ? `  subject=${a.subject}` : ''}`);
  if (inspected.data !== undefined) lines.push(`   data      ${JSON.stringify(inspected.data)}`);
  lines.push(`   token     ${describeJws(inspected.messageToken, ['sub', 'org_id', 'subscription_level', 'scope', 'aud', 'exp', 'jti'])}`);
  lines.push(`   proof     ${describeJws(inspected.proof, ['evt', 'evt_type', 'dig', 'ath', 'rgh', 'iat'])}`);
  if (inspected.replayGrant) {
    lines.push(`   replay    ${describeJws(inspected.replayGrant, ['client_id', 'scope', 'replay', 'exp'])}`);
  }
  const dlq = Object.entries(record.deadLetter);
  if (dlq.length > 0) lines.push(`   dlq       ${dlq.map(([k, v]) => `${k}=${v}`).join('  ')}`);
  for (const error of inspected.errors) lines.push(`   !         ${error}`);
  for (const v of record.verdicts) {
    lines.push(`   verdict   ${v.consumer}: ${v.outcome.toUpperCase()} ${v.detail}`);
  }
  return lines.join('\n');
}

function deadLetterHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => name.startsWith('gatehouse-dlq-'))
      .map(([name, value]) => [name.slice('gatehouse-dlq-'.length), value]),
  );
}

function describeJws(jws: InspectedEvent['messageToken'], claims: string[]): string {
  if (!jws) return '(none)';
  const header = (jws.header ?? {}) as Record<string, unknown>;
  const payload = (jws.claims ?? {}) as Record<string, unknown>;
  const shown = claims
    .filter((name) => payload[name] !== undefined)
    .map((name) => `${name}=${typeof payload[name] === 'object' ? JSON.stringify(payload[name]) : String(payload[name])}`);
  const expired = typeof payload.exp === 'number' && payload.exp * 1000 < Date.now() ? '  (expired)' : '';
  return `typ=${String(header.typ)} kid=${String(header.kid)}  ${shown.join('  ')}${expired}`;
}
