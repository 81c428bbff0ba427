/**
 * The embedded adapter: PGlite, PostgreSQL compiled to WebAssembly, in process. One connection,
 * so a transaction holds the whole database until it ends (PGlite queues other queries behind it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Database, Queryable, QueryResult } from './types.ts';

export interface EmbeddedOptions {
  /** A directory for the data files; in memory (gone on close) without one. */
  dataDir?: string;
}

const BYTEA = 17;

// Same JavaScript types as the pg adapter (see types.ts): PGlite hands bytea back as Uint8Array.
const parsers = {
  [BYTEA]: (value: string) => Buffer.from(value.slice(2), 'hex'),
};

function queryable(target: PGlite | Transaction): Queryable {
  return {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const result = await target.query<T>(text, params as unknown[] | undefined);
      // PGlite counts only changed rows; pg's rowCount of a statement returning rows is their number.
      const returnsRows = result.fields.length > 0;
      return { rows: result.rows, rowCount: returnsRows ? result.rows.length : (result.affectedRows ?? 0) };
    },
    async exec(script: string) {
      await target.exec(script);
    },
  };
}

// A fresh PGlite runs initdb, which takes seconds; loading a copy of an initialised data dir takes
// under one. Tests open many databases, so the first one's pristine data dir is kept (about 40 MB,
// once per process) and every new database, in memory or in a new directory, starts from it.
let template: Promise<Blob> | undefined;

function pristineDataDir(): Promise<Blob> {
  template ??= (async () => {
    const db = await PGlite.create();
    try {
      return await db.dumpDataDir('none');
    } finally {
      await db.close();
    }
  })().catch((error: unknown) => {
    template = undefined;
    throw error;
  });
  return template;
}

async function create(options: EmbeddedOptions): Promise<PGlite> {
  const { dataDir } = options;
  // An initialised directory is opened as it is; a new one starts from the pristine copy too.
  if (dataDir && existsSync(join(dataDir, 'PG_VERSION'))) return PGlite.create({ dataDir, parsers });
  return PGlite.create({ ...(dataDir ? { dataDir } : {}), loadDataDir: await pristineDataDir(), parsers });
}

export async function openEmbedded(options: EmbeddedOptions = {}): Promise<Database> {
  const db = await create(options);
  const { query, exec } = queryable(db);
  return {
    kind: 'embedded',
    query,
    exec,
    transaction(fn) {
      return db.transaction((tx) => fn(queryable(tx)));
    },
    async ping() {
      if (db.closed) return false;
      try {
        await db.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!db.closed) await db.close();
    },
  };
}
