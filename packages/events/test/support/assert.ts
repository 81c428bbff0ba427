import type { Test } from 'tap';
import { EventEnvelopeError, EventRefusal } from '../../src/index.ts';

async function caught(pending: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof pending === 'function' ? pending() : pending);
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Asserts an EventRefusal with this code (the dead-letter reason). */
export async function refuses(
  t: Test,
  pending: Promise<unknown> | (() => unknown),
  code: string,
  label = code,
) {
  const error = await caught(pending);
  if (!(error instanceof EventRefusal)) {
    t.fail(`${label}: expected an EventRefusal, got ${error === undefined ? 'success' : String(error)}`);
    return undefined;
  }
  t.equal(error.code, code, label);
  return error;
}

/** Asserts the producer-side EventEnvelopeError with this code. */
export async function envelopeError(
  t: Test,
  pending: Promise<unknown> | (() => unknown),
  code: string,
  label = code,
) {
  const error = await caught(pending);
  if (!(error instanceof EventEnvelopeError)) {
    t.fail(
      `${label}: expected an EventEnvelopeError, got ${error === undefined ? 'success' : String(error)}`,
    );
    return undefined;
  }
  t.equal(error.code, code, label);
  return error;
}
