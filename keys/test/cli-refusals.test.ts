// The CLI's refusals, spawned as operators run it: each is checked for its exit status, its
// message, and for leaving the store and the audit log exactly as they were.
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CLI, kidFrom, PACKAGE, run, workspace } from './cli-helpers.ts';

// Every case spawns Node, which loads zod and jose and strips types: about half a second each,
// more on a busy machine, so the default 30 s per file is too tight.
t.setTimeout(180_000);

t.test('package.json exposes the bin and the CLI file is a node script', async (t) => {
  const pkg = JSON.parse(await readFile(PACKAGE, 'utf8')) as { bin: Record<string, string> };
  t.equal(pkg.bin['gatehouse-keys'], './src/cli.ts');
  t.match(await readFile(CLI, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  t.ok((await stat(CLI)).mode & 0o100, 'executable');
});

t.test('wrong input is refused with a clear message, a non-zero exit, and no change', async (t) => {
  const w = workspace(t.testdir());
  const kid = kidFrom((await w.cli('generate')).stdout);
  await w.cli('activate', kid, '--force');
  const before = await w.snapshot();
  const cases: [string[], number, RegExp][] = [
    [['activate', 'no-such-kid'], 1, /UNKNOWN_KID.*no-such-kid/],
    [['retire', 'no-such-kid'], 1, /UNKNOWN_KID/],
    [['emergency-revoke', 'no-such-kid'], 1, /UNKNOWN_KID/],
    [['activate', kid], 1, /ILLEGAL_TRANSITION.*it is active/],
    [['generate', '--alg', 'HS256'], 1, /BAD_ALG.*HS256/],
    [['generate', '--alg'], 2, /USAGE/],
    [['rotate'], 2, /unknown command "rotate"/],
    [['list', '--force'], 2, /list does not take --force/],
    [['list', '--bogus'], 2, /USAGE.*bogus/],
    [['activate'], 2, /needs a <kid>/],
    [['activate', kid, 'extra'], 2, /unexpected argument "extra"/],
    [['status', '--jwks-max-age', 'ten minutes'], 2, /duration/],
  ];
  for (const [args, code, message] of cases) {
    const result = await w.cli(...args);
    t.equal(result.code, code, `${args.join(' ')}: exit ${code}`);
    t.match(result.stderr, message, `${args.join(' ')}: message`);
  }
  t.same(await w.snapshot(), before, 'store and audit log unchanged by every refusal');

  const none = await run([], { cwd: w.dir });
  t.equal(none.code, 2, 'no command: usage error');
  t.match(none.stderr, /usage:/);
  for (const args of [['--help'], ['help'], ['activate', '--help']]) {
    const help = await run(args, { cwd: w.dir });
    t.equal(help.code, 0, `${args.join(' ')}: exit 0`);
    t.match(help.stdout, /exit status/);
  }
});

t.test('a kid that starts with "-" is taken as a kid, not as options', async (t) => {
  const w = workspace(t.testdir());
  await w.cli('generate');
  const dashed = `-${'A'.repeat(42)}`;
  const result = await w.cli('activate', dashed);
  t.equal(result.code, 1);
  t.match(result.stderr, /UNKNOWN_KID/);
  // In its place among the arguments: the one after it is the argument too many.
  const extra = await w.cli('activate', dashed, 'extra');
  t.equal(extra.code, 2);
  t.match(extra.stderr, /unexpected argument "extra"/);
  const before = await w.cli('activate', 'extra', dashed);
  t.equal(before.code, 2);
  t.match(before.stderr, new RegExp(`unexpected argument "${dashed}"`));
});

t.test('store problems exit 3 and are never overwritten', async (t) => {
  const w = workspace(t.testdir());
  const missing = await w.cli('list');
  t.equal(missing.code, 3);
  t.match(missing.stderr, /KEYSTORE_NOT_FOUND.*generate/);
  const missingActivate = await w.cli('activate', 'x');
  t.equal(missingActivate.code, 3, 'only generate may create a store');
  t.notOk(existsSync(w.store));

  await mkdir(join(w.dir, 'keys'), { recursive: true });
  await writeFile(w.store, '{"version":1,"keys":[');
  for (const args of [['list'], ['status'], ['generate'], ['prune'], ['export', '--k8s']]) {
    const result = await w.cli(...args);
    t.equal(result.code, 3, `${args[0]} on a corrupt store`);
    t.match(result.stderr, /KEYSTORE_CORRUPT.*not valid JSON/);
  }
  t.equal(await readFile(w.store, 'utf8'), '{"version":1,"keys":[', 'corrupt store left untouched');
  t.same(await w.auditLines(), []);

  await symlink('/nonexistent-gatehouse-test/dir', join(w.dir, 'dangling'));
  const uncreatable = await run(['generate', '--store', join(w.dir, 'dangling', 'ks.json')], { cwd: w.dir });
  t.equal(uncreatable.code, 3, 'a store directory that cannot be created');
  t.match(uncreatable.stderr, /KEYSTORE_WRITE_FAILED/);

  const dirStore = await run(['list', '--store', w.dir], { cwd: w.dir });
  t.equal(dirStore.code, 3);
  t.match(dirStore.stderr, /KEYSTORE_UNREADABLE/);
});

t.test('a second concurrent mutation is refused by the lock', async (t) => {
  const w = workspace(t.testdir());
  await w.cli('generate');
  const before = await w.snapshot();
  await writeFile(`${w.store}.lock`, '{"pid":1}');
  const locked = await w.cli('generate');
  t.equal(locked.code, 3);
  t.match(locked.stderr, /KEYSTORE_LOCKED.*delete/);
  t.same(await w.snapshot(), before);
});

t.test('an unwritable audit log refuses the mutation before anything changes', async (t) => {
  const w = workspace(t.testdir());
  await w.cli('generate');
  const before = await readFile(w.store, 'utf8');
  const result = await run(['generate', '--store', w.store, '--audit', w.dir], { cwd: w.dir });
  t.equal(result.code, 4);
  t.match(result.stderr, /AUDIT_FAILED/);
  t.equal(await readFile(w.store, 'utf8'), before);
});

t.test('default paths are relative to the working directory; env overrides them', async (t) => {
  const dir = t.testdir();
  const byDefault = await run(['generate'], { cwd: dir });
  t.equal(byDefault.code, 0, byDefault.stderr);
  t.ok(existsSync(join(dir, '.gatehouse', 'keys', 'keystore.json')));
  t.ok(existsSync(join(dir, '.gatehouse', 'audit', 'keys.jsonl')));
  t.equal(byDefault.stdout.includes('"event"'), false, 'audit records do not go to stdout');

  const env = { GATEHOUSE_KEYSTORE: 'elsewhere/ks.json', GATEHOUSE_AUDIT_LOG: 'elsewhere/audit.jsonl' };
  const byEnv = await run(['generate'], { cwd: dir, env });
  t.equal(byEnv.code, 0, byEnv.stderr);
  t.ok(existsSync(join(dir, 'elsewhere', 'ks.json')));
  t.ok(existsSync(join(dir, 'elsewhere', 'audit.jsonl')));

  const early = await run(['activate', kidFrom(byEnv.stdout)], {
    cwd: dir,
    env: { ...env, GATEHOUSE_JWKS_MAX_AGE: '0' },
  });
  t.equal(early.code, 0, 'GATEHOUSE_JWKS_MAX_AGE is honoured');
});
