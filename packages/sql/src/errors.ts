/** Errors this package raises itself; driver errors pass through with their SQLSTATE `code`. */
export class MigrationError extends Error {
  readonly code: 'ERR_MIGRATION_DUPLICATE' | 'ERR_MIGRATION_CHANGED' | 'ERR_MIGRATION_UNKNOWN';
  readonly migration: string;
  constructor(code: MigrationError['code'], migration: string, message: string) {
    super(message);
    this.name = 'MigrationError';
    this.code = code;
    this.migration = migration;
  }
}

/** The SQLSTATE of a driver error (both pg and PGlite expose it as `code`), if any. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** 23505: a unique or primary key constraint refused the row (e.g. a duplicate event id). */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}
