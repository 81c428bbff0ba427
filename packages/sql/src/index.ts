/**
 * @gatehouse/sql: one small database interface over PostgreSQL (pg) and embedded PGlite, plus
 * migrations. Services write plain PostgreSQL that both run.
 */
import { openEmbedded } from './embedded.ts';
import { openPostgres } from './postgres.ts';
import type { Database } from './types.ts';

export { isUniqueViolation, MigrationError, sqlState } from './errors.ts';
export { migrate, type MigrateResult } from './migrate.ts';
export type { Database, Migration, Queryable, QueryResult } from './types.ts';

export interface OpenDatabaseOptions {
  /** postgres:// URL: a pg Pool. Without it, embedded PGlite. */
  url?: string;
  /** Embedded only: a directory for the data files; in memory without one. */
  dataDir?: string;
  /** PostgreSQL only: pool size per process (default 10). */
  poolSize?: number;
  /** PostgreSQL only: errors of idle pooled connections, for the service's log. */
  onError?: (error: Error) => void;
}

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  if (options.url) {
    return openPostgres({
      url: options.url,
      ...(options.poolSize ? { max: options.poolSize } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }
  return openEmbedded(options.dataDir ? { dataDir: options.dataDir } : {});
}
