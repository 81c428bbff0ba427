/** The PostgreSQL adapter: a pg Pool, one pooled client per transaction. */
import pg from 'pg';
import type { Database, Queryable, QueryResult } from './types.ts';

export interface PostgresOptions {
  url: string;
  /** Pool size per process (default 10). */
  max?: number;
  /** Fail a connection attempt after this long instead of hanging a request (default 5000). */
  connectTimeoutMs?: number;
  /** Errors of idle pooled clients (server restart, network): unhandled they would crash the process. */
  onError?: (error: Error) => void;
}

const INT8 = 20;

// Same JavaScript types as the embedded adapter (see types.ts): pg hands int8 back as a string.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

function resultOf<T>(result: pg.QueryResult): QueryResult<T> {
  return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
}

function queryable(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T>(text: string, params?: readonly unknown[]) {
      return resultOf<T>(await client.query(text, params as unknown[] | undefined));
    },
    async exec(script: string) {
      // Without parameters pg uses the simple query protocol, which runs several statements.
      await client.query(script);
    },
  };
}

export function openPostgres(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    types,
  });
  pool.on('error', options.onError ?? (() => {}));
  const { query, exec } = queryable(pool);
  return {
    kind: 'postgres',
    query,
    exec,
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(queryable(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A failed ROLLBACK means the connection is unusable: destroy it rather than pool it.
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await pool.end();
    },
  };
}
