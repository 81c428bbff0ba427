// k8s/postgres/init.sh against a real PostgreSQL: one login role and database per service, each
// role confined to its own database, SCRAM passwords, and its refusals. Also that the postgres
// image's entrypoint can source it (the compose bind mount) without its shell options leaking.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@gatehouse/sql';
import { postgresOrSkip } from '@gatehouse/sql/testing';
import t from 'tap';
import { inCi, repoPath, which } from './support/repo.ts';
import { runScript } from './support/shell.ts';

const SERVICES = ['sales', 'shipping', 'invoicing'];
const GOOD = {
  SALES_DB_PASSWORD: 'sales-db-0123456789ab',
  SHIPPING_DB_PASSWORD: 'shipping-db-0123456789',
  INVOICING_DB_PASSWORD: 'invoicing-db-012345678',
};

const server = which('psql') ? await postgresOrSkip(t) : undefined;
if (!which('psql')) {
  if (inCi()) throw new Error('psql not installed (apt-get install postgresql-client)');
  t.test('postgres init', { skip: 'psql not installed' }, async () => {});
}

if (server) {
  const connection = { PGHOST: '127.0.0.1', PGPORT: String(server.port), POSTGRES_USER: 'postgres' };
  const admin = await openDatabase({ url: server.url });
  t.teardown(() => admin.close());
  const roles = async () =>
    (await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`, [SERVICES])).rows.map(
      (row) => row.rolname,
    );

  // Refusals first: they must leave the cluster untouched for the run that succeeds.
  t.test('refuses an unusable password before creating anything', async (t) => {
    for (const bad of ['', 'short', 'has:colon-0123456789', 'has@at-0123456789abc']) {
      const run = runScript('k8s/postgres/init.sh', { ...connection, ...GOOD, SHIPPING_DB_PASSWORD: bad });
      t.equal(run.code, 1, JSON.stringify(bad));
      t.match(run.stderr, /SHIPPING_DB_PASSWORD must be at least 16 characters/);
    }
    t.same(await roles(), [], 'no role created, not even sales (checked first)');
  });

  t.test('a failure stops the entrypoint that sources it, without leaking shell options', async (t) => {
    const result = spawnSync(
      'bash',
      ['-c', `set -e; source "$1" || { echo "status=$? options=$-"; exit 0; }; echo continued`, 'entrypoint', repoPath('k8s/postgres/init.sh')],
      { encoding: 'utf8', env: { PATH: process.env.PATH, ...connection } },
    );
    t.match(result.stdout, /^status=1 options=/m);
    t.notMatch(result.stdout.match(/options=(\S*)/)?.[1] ?? '', 'u', 'set -u stayed inside');
    t.notMatch(result.stdout, /continued/);
  });

  t.test('creates one role and database per service, each confined to its own', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'postgres-init-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'invoicing'), `${GOOD.INVOICING_DB_PASSWORD}\n`);
    const { INVOICING_DB_PASSWORD: _, ...rest } = GOOD;
    const run = runScript('k8s/postgres/init.sh', { ...connection, ...rest, INVOICING_DB_PASSWORD_FILE: join(dir, 'invoicing') });
    t.equal(run.code, 0, run.stderr);
    t.same(await roles(), ['invoicing', 'sales', 'shipping']);
    const { rows } = await admin.query<{ rolname: string; rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; scram: boolean }>(
      `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolpassword LIKE 'SCRAM-SHA-256$%' AS scram
         FROM pg_authid WHERE rolname = ANY($1)`,
      [SERVICES],
    );
    for (const row of rows) {
      t.same(row, { rolname: row.rolname, rolsuper: false, rolcreatedb: false, rolcreaterole: false, scram: true }, row.rolname);
    }
    for (const role of SERVICES) {
      for (const database of [...SERVICES, 'postgres']) {
        const { rows } = await admin.query<{ ok: boolean }>(`SELECT has_database_privilege($1, $2, 'CONNECT') AS ok`, [role, database]);
        t.equal(rows[0]?.ok, role === database, `${role} ${role === database ? 'may' : 'may not'} connect to ${database}`);
      }
      const { rows: owner } = await admin.query<{ owner: string }>(
        `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1`,
        [role],
      );
      t.equal(owner[0]?.owner, role, `${role} owns its database (and so its public schema)`);
    }
  });
}
