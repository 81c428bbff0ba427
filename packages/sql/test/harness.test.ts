// The PostgreSQL test harness itself: a missing server fails in CI and skips (visibly) locally.
import t from 'tap';
import { findPostgresBin, POSTGRES_MISSING, postgresOrSkip } from './support/postgres.ts';

function withEnv(vars: Record<string, string | undefined>, t: { teardown(fn: () => void): void }) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

t.test('POSTGRES_BIN pointing nowhere: no server found', async (t) => {
  withEnv({ POSTGRES_BIN: '/nonexistent/bin' }, t);
  t.equal(findPostgresBin(), undefined);
});

t.test('missing server in CI throws', async (t) => {
  withEnv({ POSTGRES_BIN: '/nonexistent/bin', CI: 'true' }, t);
  await t.rejects(postgresOrSkip(t), { message: POSTGRES_MISSING });
});

t.test('missing server locally: skipped with the reason, no handle', async (t) => {
  withEnv({ POSTGRES_BIN: '/nonexistent/bin', CI: undefined }, t);
  const handle = await postgresOrSkip(t);
  t.equal(handle, undefined);
  t.equal(t.counts.skip, 1, 'a skipped test point records the reason');
});
