// One contract, two adapters: the same SQL and the same JavaScript results on embedded PGlite and
// on a real PostgreSQL server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { type Database, isUniqueViolation, migrate, type Migration, MigrationError, openDatabase, sqlState } from '../src/index.ts';
import { postgresOrSkip } from './support/postgres.ts';

const migrations: Migration[] = [
  {
    id: '0001_items',
    sql: `CREATE TABLE items (
            id bigserial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            doc jsonb NOT NULL,
            blob bytea,
            price numeric(12, 2),
            created_at timestamptz NOT NULL DEFAULT now()
          );
          CREATE INDEX items_created ON items (created_at);`,
  },
  { id: '0002_tags', sql: `ALTER TABLE items ADD COLUMN tags text[] NOT NULL DEFAULT '{}'` },
];

interface Item {
  id: number;
  name: string;
  doc: { a: number };
  blob: Buffer | null;
  price: string | null;
  created_at: Date;
  tags: string[];
}

function contract(t: Test, open: () => Promise<Database>, kind: Database['kind']) {
  let db: Database;
  t.before(async () => {
    db = await open();
  });
  t.teardown(() => db?.close());

  t.test('kind and ping', async (t) => {
    t.equal(db.kind, kind);
    t.equal(await db.ping(), true);
  });

  t.test('migrate applies in order, records, and is idempotent', async (t) => {
    t.same(await migrate(db, migrations), { applied: ['0001_items', '0002_tags'] });
    t.same(await migrate(db, migrations), { applied: [] });
    const { rows } = await db.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
    t.same(rows.map((r) => r.id), ['0001_items', '0002_tags']);
    t.same(await migrate(db, [...migrations, { id: '0003_more', sql: 'ALTER TABLE items ADD COLUMN note text' }]), {
      applied: ['0003_more'],
    });
  });

  t.test('a changed migration is refused', async (t) => {
    const changed = [{ id: '0001_items', sql: 'CREATE TABLE other (x int)' }];
    await t.rejects(migrate(db, changed), { code: 'ERR_MIGRATION_CHANGED', migration: '0001_items' });
  });

  t.test('duplicate migration ids are refused before anything runs', async (t) => {
    const dup = [
      { id: '0009_x', sql: 'CREATE TABLE x9 (x int)' },
      { id: '0009_x', sql: 'CREATE TABLE y9 (x int)' },
    ];
    const err = await migrate(db, dup).catch((e: unknown) => e);
    t.ok(err instanceof MigrationError);
    t.match(err, { code: 'ERR_MIGRATION_DUPLICATE' });
    t.equal((await db.query("SELECT 1 FROM schema_migrations WHERE id = '0009_x'")).rowCount, 0);
  });

  t.test('a failing migration leaves neither its changes nor its record', async (t) => {
    const bad = { id: '0010_bad', sql: 'CREATE TABLE half (x int); SELECT no_such_function();' };
    await t.rejects(migrate(db, [bad]));
    t.equal((await db.query("SELECT 1 FROM schema_migrations WHERE id = '0010_bad'")).rowCount, 0);
    t.equal((await db.query("SELECT 1 FROM pg_tables WHERE tablename = 'half'")).rowCount, 0);
  });

  t.test('same types from both adapters', async (t) => {
    const inserted = await db.query<Item>(
      'INSERT INTO items (name, doc, blob, price, tags) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      ['widget', { a: 1 }, Buffer.from('bytes'), '12.50', ['x', 'y']],
    );
    t.equal(inserted.rowCount, 1);
    const row = inserted.rows[0]!;
    t.equal(typeof row.id, 'number');
    t.same(row.doc, { a: 1 });
    t.ok(Buffer.isBuffer(row.blob), 'bytea is a Buffer');
    t.equal(row.blob?.toString(), 'bytes');
    t.equal(row.price, '12.50');
    t.ok(row.created_at instanceof Date);
    t.same(row.tags, ['x', 'y']);
    const count = await db.query<{ n: number }>('SELECT count(*) AS n FROM items');
    t.equal(count.rows[0]?.n, 1, 'count(*) (int8) is a number');
    t.equal(count.rowCount, 1, 'rowCount of a SELECT is its row count');
    const updated = await db.query('UPDATE items SET note = $1', ['n']);
    t.equal(updated.rowCount, 1);
  });

  t.test('transaction commits', async (t) => {
    const id = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>('INSERT INTO items (name, doc) VALUES ($1, $2) RETURNING id', [
        'committed',
        { a: 2 },
      ]);
      await tx.query("UPDATE items SET note = 'touched' WHERE name = 'widget'");
      return rows[0]!.id;
    });
    t.equal(typeof id, 'number');
    t.equal((await db.query('SELECT 1 FROM items WHERE id = $1', [id])).rowCount, 1);
  });

  t.test('transaction rolls back every statement on a throw', async (t) => {
    const err = await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO items (name, doc) VALUES ($1, $2)', ['rolled-back', { a: 3 }]);
        await tx.query('INSERT INTO items (name, doc) VALUES ($1, $2)', ['widget', { a: 4 }]);
      })
      .catch((e: unknown) => e);
    t.ok(isUniqueViolation(err), 'the driver error passes through with its SQLSTATE');
    t.equal(sqlState(err), '23505');
    t.equal((await db.query("SELECT 1 FROM items WHERE name = 'rolled-back'")).rowCount, 0);
    // The connection is usable afterwards.
    t.equal(await db.ping(), true);
  });

  t.test('an application error rolls back too', async (t) => {
    await t.rejects(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO items (name, doc) VALUES ($1, $2)', ['app-error', { a: 5 }]);
        throw new Error('nope');
      }),
      { message: 'nope' },
    );
    t.equal((await db.query("SELECT 1 FROM items WHERE name = 'app-error'")).rowCount, 0);
  });

  t.test('FOR UPDATE SKIP LOCKED runs on both', async (t) => {
    const { rows } = await db.transaction((tx) =>
      tx.query<{ name: string }>('SELECT name FROM items ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 10'),
    );
    t.ok(rows.length >= 2);
  });

  t.test('ping is false after close, never throws', async (t) => {
    const other = await open();
    await other.close();
    t.equal(await other.ping(), false);
  });
}

t.test('embedded, in memory', (t) => {
  contract(t, () => openDatabase(), 'embedded');
  t.end();
});

t.test('embedded, file-backed: data survives a reopen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sql-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = await openDatabase({ dataDir: dir });
  await migrate(first, migrations);
  await first.query('INSERT INTO items (name, doc) VALUES ($1, $2)', ['kept', { a: 1 }]);
  await first.close();
  const second = await openDatabase({ dataDir: dir });
  t.teardown(() => second.close());
  t.same(await migrate(second, migrations), { applied: [] });
  const { rows } = await second.query<{ name: string }>('SELECT name FROM items');
  t.same(rows, [{ name: 'kept' }]);
});

const server = await postgresOrSkip(t);
if (server) {
  t.test('postgres', async (t) => {
    const url = await server.createDatabase();
    contract(t, () => openDatabase({ url }), 'postgres');
  });

  t.test('postgres: concurrent migrations from two replicas apply once', async (t) => {
    const url = await server.createDatabase();
    const a = await openDatabase({ url });
    const b = await openDatabase({ url });
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    const [ra, rb] = await Promise.all([migrate(a, migrations), migrate(b, migrations)]);
    t.same([...ra.applied, ...rb.applied].sort(), ['0001_items', '0002_tags']);
  });

  t.test('postgres: an unreachable server fails ping, does not hang', async (t) => {
    const db = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none' });
    t.teardown(() => db.close());
    t.equal(await db.ping(), false);
  });
}
