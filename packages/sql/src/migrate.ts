/**
 * Forward-only migrations: applied in the order given, each in its own transaction together with
 * its row in schema_migrations, so a crash leaves every migration either wholly applied or not.
 * Running it again is a no-op. A recorded migration whose SQL has since changed is refused: the
 * database would silently differ from what the code describes.
 */
import { createHash } from 'node:crypto';
import { MigrationError } from './errors.ts';
import type { Database, Migration, Queryable } from './types.ts';

// Any constant works; it only has to be the same in every replica of every Gatehouse service.
const MIGRATION_LOCK = 0x6761_7465; // "gate"

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  id text PRIMARY KEY,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

export interface MigrateResult {
  /** Ids applied by this run, in order. */
  applied: string[];
}

function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('base64url');
}

function assertUniqueIds(migrations: readonly Migration[]): void {
  const seen = new Set<string>();
  for (const { id } of migrations) {
    if (seen.has(id)) throw new MigrationError('ERR_MIGRATION_DUPLICATE', id, `migration ${id} is listed twice`);
    seen.add(id);
  }
}

/**
 * Two replicas starting together would both see a migration as missing; on PostgreSQL a
 * transaction-scoped advisory lock makes the second wait and then find it recorded. PGlite is one
 * process with one connection, so there is nobody to race.
 */
async function lock(db: Database, tx: Queryable): Promise<void> {
  if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
}

async function applyOne(db: Database, migration: Migration): Promise<boolean> {
  const sum = checksum(migration.sql);
  return db.transaction(async (tx) => {
    await lock(db, tx);
    const { rows } = await tx.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE id = $1', [
      migration.id,
    ]);
    const recorded = rows[0];
    if (recorded) {
      if (recorded.checksum !== sum) {
        throw new MigrationError('ERR_MIGRATION_CHANGED', migration.id, `migration ${migration.id} changed after it was applied`);
      }
      return false;
    }
    await tx.exec(migration.sql);
    await tx.query('INSERT INTO schema_migrations (id, checksum) VALUES ($1, $2)', [migration.id, sum]);
    return true;
  });
}

export async function migrate(db: Database, migrations: readonly Migration[]): Promise<MigrateResult> {
  assertUniqueIds(migrations);
  await db.transaction(async (tx) => {
    // Under the lock too: concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL.
    await lock(db, tx);
    await tx.exec(CREATE_TABLE);
  });
  const applied: string[] = [];
  for (const migration of migrations) {
    if (await applyOne(db, migration)) applied.push(migration.id);
  }
  return { applied };
}
