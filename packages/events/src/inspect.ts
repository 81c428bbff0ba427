/**
 * Display only (the operator CLI): decodes whatever can be decoded and says what could not. Nothing
 * here is verified, so nothing here may ever feed a decision.
 */
import { CE, HEADER } from './constants.ts';
import { parseJsonBytes, splitCompact } from './jose-strict.ts';
import type { EventAttributes, EventRecord } from './types.ts';

export interface InspectedJws {
  header: unknown;
  claims: unknown;
}

export interface InspectedEvent {
  attributes?: EventAttributes;
  data?: unknown;
  messageToken?: InspectedJws;
  proof?: InspectedJws;
  replayGrant?: InspectedJws;
  errors: string[];
}

/** Decodes without verifying (for the operator CLI's display): header+payload of each JWS, never trusted. */
export function inspectEvent(record: EventRecord): InspectedEvent {
  const errors: string[] = [];
  const headers = isObject(record?.headers) ? (record.headers as Record<string, unknown>) : {};
  if (!isObject(record?.headers)) errors.push('headers: not a map');
  const result: InspectedEvent = { errors };
  const attributes = readAttributes(headers, errors);
  if (attributes !== undefined) result.attributes = attributes;
  const data = readData(record?.value, errors);
  if (data !== undefined) result.data = data;
  const credentials = [
    ['messageToken', HEADER.messageToken],
    ['proof', HEADER.proof],
    ['replayGrant', HEADER.replayGrant],
  ] as const;
  for (const [field, name] of credentials) {
    const value = headers[name];
    if (value === undefined) continue;
    const jws = readJws(value);
    if (typeof jws === 'string') errors.push(`${name}: ${jws}`);
    else result[field] = jws;
  }
  return result;
}

function readAttributes(headers: Record<string, unknown>, errors: string[]): EventAttributes | undefined {
  const text = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);
  const id = text(CE.id);
  const type = text(CE.type);
  const source = text(CE.source);
  const time = text(CE.time);
  const missing = Object.entries({ [CE.id]: id, [CE.type]: type, [CE.source]: source, [CE.time]: time })
    .filter(([, value]) => value === undefined)
    .map(([name]) => name);
  if (missing.length > 0) {
    errors.push(`attributes: missing ${missing.join(', ')}`);
    return undefined;
  }
  const attributes: EventAttributes = { id: id!, type: type!, source: source!, time: time! };
  const subject = text(CE.subject);
  if (subject !== undefined) attributes.subject = subject;
  return attributes;
}

function readData(value: unknown, errors: string[]): unknown {
  if (!Buffer.isBuffer(value)) {
    errors.push('data: value is not bytes');
    return undefined;
  }
  try {
    return parseJsonBytes(value);
  } catch (error) {
    errors.push(`data: ${(error as Error).message}`);
    // Still show the operator something: the start of the raw value.
    return value.subarray(0, 256).toString('utf8');
  }
}

function readJws(value: unknown): InspectedJws | string {
  if (typeof value !== 'string') return 'not a string';
  const segments = splitCompact(value);
  if (segments === undefined) return 'not a compact JWS';
  try {
    return { header: segmentJson(segments[0]), claims: segmentJson(segments[1]) };
  } catch (error) {
    return (error as Error).message;
  }
}

function segmentJson(segment: string): unknown {
  return parseJsonBytes(Buffer.from(segment, 'base64url'));
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
