import type { Test } from 'tap';
import type { ValidationCode } from '../../src/index.ts';
import { TokenValidationError } from '../../src/index.ts';

/** Asserts a refusal with this code: a TokenValidationError, status 401, claims only when expired. */
export async function refuses(t: Test, pending: Promise<unknown>, code: ValidationCode, message?: string) {
  let error: unknown;
  try {
    await pending;
  } catch (caught) {
    error = caught;
  }
  const label = message ?? code;
  if (!(error instanceof TokenValidationError)) {
    t.fail(
      `${label}: expected a TokenValidationError, got ${error === undefined ? 'success' : String(error)}`,
    );
    return undefined;
  }
  t.equal(error.code, code, label);
  t.equal(error.status, 401, `${label}: status 401`);
  if (code !== 'ERR_TOKEN_EXPIRED') t.notOk('claims' in error, `${label}: no claims on the refusal`);
  return error;
}
