/**
 * A verified event the business logic cannot apply (unsupported type, data not in the shape the
 * type promises). Retrying would fail forever and block its partition, so the runtime rolls the
 * transaction back and dead-letters the record with this code instead.
 */
export type EventRejectionCode =
  | 'ERR_EVENT_TYPE_UNSUPPORTED'
  | 'ERR_EVENT_DATA_INVALID'
  | 'ERR_EVENT_SUBJECT_MISMATCH';

export class EventRejected extends Error {
  readonly code: EventRejectionCode;

  constructor(code: EventRejectionCode, message: string) {
    super(message);
    this.name = 'EventRejected';
    this.code = code;
  }
}

export function isEventRejected(value: unknown): value is EventRejected {
  return value instanceof EventRejected;
}
