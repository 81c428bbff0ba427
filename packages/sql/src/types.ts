/**
 * The one database contract Gatehouse services code against. Two adapters keep it: PostgreSQL
 * through a pg Pool (production) and embedded PGlite (development, tests, the all-in-one stack).
 * Both run the same SQL and hand back the same JavaScript types:
 *   int8/bigserial → number (counts and ids stay far below 2^53), numeric → string,
 *   json/jsonb → parsed value, bytea → Buffer, timestamptz → Date, uuid/text → string.
 */

export interface QueryResult<T> {
  rows: T[];
  /** Rows returned by a SELECT or changed by INSERT/UPDATE/DELETE. */
  rowCount: number;
}

export interface Queryable {
  /** One statement, $1… placeholders. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** A script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'embedded';
  /**
   * Runs fn inside BEGIN … COMMIT on one connection; any throw rolls back and is rethrown.
   * Read committed (PostgreSQL's default): callers that need more take row locks.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** True when the database answers (readiness); never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface Migration {
  /** Sortable and stable forever, e.g. "0001_orders". */
  id: string;
  sql: string;
}
