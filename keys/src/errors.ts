// Typed errors, in the style of jose's JOSEError: callers branch on `code`, never on message text.

export type KeyStoreErrorCode =
  | 'KEYSTORE_NOT_FOUND'
  | 'KEYSTORE_UNREADABLE'
  | 'KEYSTORE_CORRUPT'
  | 'KEYSTORE_INVALID'
  | 'KEYSTORE_NO_ACTIVE_KEY'
  | 'KEYSTORE_WRITE_FAILED'
  | 'KEYSTORE_LOCKED';

/** The store file cannot be used: missing, unreadable, corrupt, or it has no key to sign with. */
export class KeyStoreError extends Error {
  override name = 'KeyStoreError';
  readonly code: KeyStoreErrorCode;
  readonly path: string | undefined;

  constructor(code: KeyStoreErrorCode, message: string, options?: { path?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options?.path;
  }
}

export type KeyLifecycleErrorCode =
  | 'UNKNOWN_KID'
  | 'ILLEGAL_TRANSITION'
  | 'NOT_PUBLISHED_LONG_ENOUGH'
  | 'BAD_ALG'
  | 'BAD_OPTION'
  | 'DUPLICATE_KID'
  | 'WOULD_LEAVE_NO_ACTIVE_KEY';

/** A lifecycle command was refused. The store passed in is never modified. */
export class KeyLifecycleError extends Error {
  override name = 'KeyLifecycleError';
  readonly code: KeyLifecycleErrorCode;
  readonly kid: string | undefined;

  constructor(code: KeyLifecycleErrorCode, message: string, kid?: string) {
    super(message);
    this.code = code;
    this.kid = kid;
  }
}

/** The errno code of a Node.js system error (ENOENT, EACCES, ...), if it is one. */
export function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
