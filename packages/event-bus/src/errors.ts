/** Refusals of the event bus itself (not of the broker): each has a stable `code`. */
export type EventBusErrorCode =
  /** The bus (or this producer) was closed; nothing more is sent or consumed through it. */
  | 'ERR_BUS_CLOSED'
  /** A message that no broker could carry as given (not a Buffer value, a non-string header…). */
  | 'ERR_BUS_MESSAGE_INVALID'
  /** A consumer did not join its group and fix its start positions in time. */
  | 'ERR_BUS_CONSUMER_START'
  /** Options that make no sense (no topics, no group id, a bad partition count…). */
  | 'ERR_BUS_OPTIONS';

export class EventBusError extends Error {
  readonly code: EventBusErrorCode;
  constructor(code: EventBusErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventBusError';
    this.code = code;
  }
}
