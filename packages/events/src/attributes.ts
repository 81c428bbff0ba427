/**
 * The CloudEvents attribute model. cloudevents' own schema checks what it can (source is a
 * URI-reference, time a date-time); our checks come first because the SDK fills in an empty id or
 * time with a fresh one instead of refusing it, and accepts a time without a zone, which is not
 * RFC 3339 and would make the replay policy's age and range checks depend on the consumer's zone.
 */
import { CloudEvent } from 'cloudevents';
import { JSON_CONTENT_TYPE, SPEC_VERSION } from './constants.ts';
import type { EventAttributes } from './types.ts';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch for an RFC 3339 time, or undefined when it is not one. */
export function parseRfc3339(value: unknown): number | undefined {
  if (typeof value !== 'string' || !RFC3339.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A description of the first problem, or undefined when the attributes are valid. */
export function attributesProblem(attributes: EventAttributes): string | undefined {
  for (const name of ['id', 'type', 'source', 'time'] as const) {
    const value: unknown = attributes[name];
    if (typeof value !== 'string' || value === '') return `attribute "${name}" must be a non-empty string`;
  }
  if (
    attributes.subject !== undefined &&
    (typeof attributes.subject !== 'string' || attributes.subject === '')
  ) {
    return 'attribute "subject" must be a non-empty string when present';
  }
  if (parseRfc3339(attributes.time) === undefined) return 'attribute "time" must be an RFC 3339 date-time';
  return cloudEventProblem(attributes);
}

/** The SDK's model for everything else (URI-reference source, valid calendar date-time). */
export function toCloudEvent(attributes: EventAttributes): CloudEvent<never> {
  return new CloudEvent<never>(
    {
      specversion: SPEC_VERSION,
      id: attributes.id,
      type: attributes.type,
      source: attributes.source,
      time: attributes.time,
      datacontenttype: JSON_CONTENT_TYPE,
      ...(attributes.subject === undefined ? {} : { subject: attributes.subject }),
    },
    true,
  );
}

function cloudEventProblem(attributes: EventAttributes): string | undefined {
  try {
    toCloudEvent(attributes);
    return undefined;
  } catch (error) {
    return `not a valid CloudEvent (${describe(error)})`;
  }
}

function describe(error: unknown): string {
  const errors = (error as { errors?: unknown } | null)?.errors;
  const first = Array.isArray(errors)
    ? (errors[0] as { instancePath?: unknown; message?: unknown })
    : undefined;
  if (first && typeof first.instancePath === 'string' && typeof first.message === 'string') {
    return `${first.instancePath.replace(/^\//, '')} ${first.message}`;
  }
  return error instanceof Error ? error.message.split('\n')[0]! : 'invalid';
}
