/**
 * Wire names and limits shared by producers, consumers and tools. Kafka header names are
 * case-sensitive: these exact lower-case spellings are the contract.
 */

/** Gatehouse's own headers. Credentials are never `ce_` attributes (see docs/events.md, Envelope). */
export const HEADER = {
  messageToken: 'gatehouse-message-token',
  proof: 'gatehouse-event-proof',
  replayGrant: 'gatehouse-replay-grant',
  dlqReason: 'gatehouse-dlq-reason',
  dlqConsumer: 'gatehouse-dlq-consumer',
  dlqOrigin: 'gatehouse-dlq-origin',
  dlqTime: 'gatehouse-dlq-time',
} as const;

/** Bytes. Checked by the encoder before sending and by the decoder before any parsing. */
export const SIZE_BUDGET = {
  messageToken: 8192,
  proof: 2048,
  replayGrant: 4096,
  data: 262144,
  headers: 24576,
} as const;

/** JOSE typ of each credential a record carries; explicit typing keeps one kind from passing as another. */
export const TYP = { message: 'message+jwt', proof: 'event-proof+jwt', replay: 'replay+jwt' } as const;

/** CloudEvents Kafka binary mode: the attributes we read and write. */
export const CE = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  time: 'ce_time',
  subject: 'ce_subject',
} as const;

export const CONTENT_TYPE_HEADER = 'content-type';
export const JSON_CONTENT_TYPE = 'application/json';
export const SPEC_VERSION = '1.0';
