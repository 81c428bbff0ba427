/**
 * A refused record as written to the consumer's dead-letter topic: the original key, value and
 * headers untouched (so an operator can re-inspect or re-drive it), plus why, who, where from, when.
 */
import { HEADER } from './constants.ts';
import type { EventRecord } from './types.ts';

export interface DeadLetterInfo {
  /** The refusal code (EventRefusal.code). */
  reason: string;
  /** The refusing consumer, e.g. shipping. */
  consumer: string;
  /** topic/partition/offset of the original record. */
  origin: string;
  now: Date;
}

/** For dead-lettering: the original headers + the dlq headers. */
export function deadLetterRecord(record: EventRecord, info: DeadLetterInfo): EventRecord {
  for (const name of ['reason', 'consumer', 'origin'] as const) {
    if (typeof info[name] !== 'string' || info[name] === '')
      throw new TypeError(`${name} must be a non-empty string`);
  }
  if (!(info.now instanceof Date) || Number.isNaN(info.now.getTime()))
    throw new TypeError('now must be a valid Date');
  return {
    key: record.key,
    value: record.value,
    headers: {
      // Ours last: a record that was dead-lettered before carries this verdict, not the earlier one.
      ...record.headers,
      [HEADER.dlqReason]: info.reason,
      [HEADER.dlqConsumer]: info.consumer,
      [HEADER.dlqOrigin]: info.origin,
      [HEADER.dlqTime]: info.now.toISOString(),
    },
  };
}
