/**
 * Consumer side of the envelope, step 1 of docs/events.md. Our own decoder rather than the SDK's
 * Kafka.toEvent: that one parses data with JSON.parse (a duplicate member silently wins), rewrites
 * ce_time into another string (the proof signs the exact header), and accepts structured mode. The
 * SDK's attribute model is still applied, through attributesProblem.
 */
import { attributesProblem } from './attributes.ts';
import {
  CE,
  CONTENT_TYPE_HEADER,
  HEADER,
  JSON_CONTENT_TYPE,
  SIZE_BUDGET,
  SPEC_VERSION,
} from './constants.ts';
import { EventRefusal } from './errors.ts';
import { parseJsonBytes, StrictJsonError } from './jose-strict.ts';
import { headersBytes } from './size.ts';
import type { DecodedEvent, EventAttributes, EventRecord } from './types.ts';

/** Strict decode; throws EventRefusal ERR_EVENT_MALFORMED / ERR_EVENT_TOO_LARGE. */
export function decodeEvent(record: EventRecord): DecodedEvent {
  checkShape(record);
  checkBudgets(record);
  const { headers } = record;
  checkBinaryMode(headers);
  const attributes = readAttributes(headers);
  const data = parseData(record.value);
  const decoded: DecodedEvent = { attributes, data, value: record.value };
  const messageToken = credential(headers, HEADER.messageToken);
  const proof = credential(headers, HEADER.proof);
  const replayGrant = credential(headers, HEADER.replayGrant);
  if (messageToken !== undefined) decoded.messageToken = messageToken;
  if (proof !== undefined) decoded.proof = proof;
  if (replayGrant !== undefined) decoded.replayGrant = replayGrant;
  return decoded;
}

function malformed(message: string, cause?: unknown): EventRefusal {
  return new EventRefusal('ERR_EVENT_MALFORMED', message, cause === undefined ? {} : { cause });
}

function checkShape(record: EventRecord): void {
  if (typeof record !== 'object' || record === null) throw malformed('record is not an object');
  if (!Buffer.isBuffer(record.value)) throw malformed('record value is not bytes');
  const { headers } = record;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw malformed('record headers are not a map');
  }
  for (const value of Object.values(headers)) {
    if (typeof value !== 'string') throw malformed('record header value is not a string');
  }
}

/** Before any parsing, so an oversized record costs no decoding. */
function checkBudgets(record: EventRecord): void {
  const tooLarge = (part: string) =>
    new EventRefusal('ERR_EVENT_TOO_LARGE', `event ${part} is over its budget`);
  if (record.value.length > SIZE_BUDGET.data) throw tooLarge('data');
  if (headersBytes(record.headers) > SIZE_BUDGET.headers) throw tooLarge('headers');
  const credentials = [
    [HEADER.messageToken, SIZE_BUDGET.messageToken],
    [HEADER.proof, SIZE_BUDGET.proof],
    [HEADER.replayGrant, SIZE_BUDGET.replayGrant],
  ] as const;
  for (const [name, budget] of credentials) {
    const value = record.headers[name];
    if (value !== undefined && Buffer.byteLength(value) > budget) throw tooLarge(name);
  }
}

/** Binary mode with JSON data only: structured mode would put unsigned attributes in the value. */
function checkBinaryMode(headers: Record<string, string>): void {
  if (headers[CONTENT_TYPE_HEADER]?.toLowerCase() !== JSON_CONTENT_TYPE) {
    throw malformed('content-type is not application/json (binary mode, JSON data)');
  }
  if (headers[CE.specversion] !== SPEC_VERSION) throw malformed('ce_specversion is not 1.0');
}

function readAttributes(headers: Record<string, string>): EventAttributes {
  const attributes: EventAttributes = {
    id: header(headers, CE.id),
    type: header(headers, CE.type),
    source: header(headers, CE.source),
    time: header(headers, CE.time),
  };
  if (Object.hasOwn(headers, CE.subject)) attributes.subject = headers[CE.subject]!;
  const problem = attributesProblem(attributes);
  if (problem !== undefined) throw malformed(problem);
  return attributes;
}

function header(headers: Record<string, string>, name: string): string {
  const value = headers[name];
  if (value === undefined) throw malformed(`${name} is missing`);
  return value;
}

/** Duplicate member names are refused: two parsers must never read two different orders. */
function parseData(value: Buffer): Record<string, unknown> {
  try {
    return parseJsonBytes(value);
  } catch (error) {
    if (error instanceof StrictJsonError) {
      throw malformed(
        error.duplicate ? 'event data has a duplicate member name' : 'event data is not a JSON object',
        error,
      );
    }
    throw error;
  }
}

/** An empty header is no credential (the step that needs it refuses it as missing). */
function credential(headers: Record<string, string>, name: string): string | undefined {
  const value = headers[name];
  return value === undefined || value === '' ? undefined : value;
}
