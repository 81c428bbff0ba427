// The CLI, driven as operators drive it: by spawning it. Each refusal is checked for its exit
// status, its message, and for leaving the store and the audit log exactly as they were.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { KeyStoreFile } from '../src/types.ts';
import { PRIVATE_MEMBERS } from './fixtures.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const PACKAGE = fileURLToPath(new URL('../package.json', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// The environment the CLI sees: nothing inherited that could point it at a real store.
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of Object.keys(env)) {
    if (name.startsWith('GATEHOUSE_') && !(name in extra)) delete env[name];
  }
  return env;
}

function run(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: cleanEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A temp dir with store and audit paths, and a `cli` bound to them. */
function workspace(t: { testdir: (fixture?: object) => string }) {
  const dir = t.testdir();
  const store = join(dir, 'keys', 'keystore.json');
  const audit = join(dir, 'audit', 'keys.jsonl');
  const cli = (...args: string[]) => run([...args, '--store', store, '--audit', audit], { cwd: dir });
  const readStore = async () => JSON.parse(await readFile(store, 'utf8')) as KeyStoreFile;
  const auditLines = async () =>
    existsSync(audit)
      ? (await readFile(audit, 'utf8'))
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
      : [];
  /** Store bytes and audit length, to prove a refusal changed nothing. */
  const snapshot = async () => ({
    store: existsSync(store) ? await readFile(store, 'utf8') : null,
    audit: (await auditLines()).length,
  });
  return { dir, store, audit, cli, readStore, auditLines, snapshot };
}

function kidFrom(output: string): string {
  const match = /generated (\S+) \(/.exec(output);
  if (match === null) throw new Error(`no kid in: ${output}`);
  return match[1]!;
}

function noPrivateMaterial(t: { notMatch: (a: string, b: RegExp, m?: string) => void }, text: string, where: string) {
  for (const member of PRIVATE_MEMBERS) t.notMatch(text, new RegExp(`"${member}"\\s*:`), `${where}: no "${member}"`);
}

t.test('package.json exposes the bin and the CLI file is a node script', async (t) => {
  const pkg = JSON.parse(await readFile(PACKAGE, 'utf8')) as { bin: Record<string, string> };
  t.equal(pkg.bin['gatehouse-keys'], './src/cli.ts');
  t.match(await readFile(CLI, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  t.ok((await stat(CLI)).mode & 0o100, 'executable');
});

t.test('scheduled rotation end to end: generate, activate, rotate, prune', async (t) => {
  const w = workspace(t);

  const gen1 = await w.cli('generate');
  t.equal(gen1.code, 0, gen1.stderr);
  const first = kidFrom(gen1.stdout);
  t.match(gen1.stdout, /state next/);
  t.match(gen1.stdout, /can be activated from/);
  noPrivateMaterial(t, gen1.stdout, 'generate stdout');
  t.equal((await stat(w.store)).mode & 0o777, 0o600);

  const early = await w.cli('activate', first);
  t.equal(early.code, 1, 'activation before the JWKS max age is refused');
  t.match(early.stderr, /NOT_PUBLISHED_LONG_ENOUGH/);

  const activated = await w.cli('activate', first, '--jwks-max-age', '0');
  t.equal(activated.code, 0, activated.stderr);
  t.match(activated.stdout, new RegExp(`${first}: next -> active`));

  const gen2 = await w.cli('generate', '--alg', 'EdDSA');
  const second = kidFrom(gen2.stdout);
  const rotated = await w.cli('activate', second, '--jwks-max-age', '0', '--max-token-lifetime', '1h', '--replay-window', '1d');
  t.equal(rotated.code, 0, rotated.stderr);
  t.match(rotated.stdout, new RegExp(`${first}: active -> retiring, retained until`));
  const store = await w.readStore();
  const old = store.keys.find((key) => key.kid === first)!;
  t.equal(old.state, 'retiring');
  const retention = Date.parse(old.retireAfter!) - Date.parse(old.retiringAt!);
  t.equal(retention, (3600 + 86400) * 1000, 'retireAfter = retiringAt + max token lifetime + replay window');

  const list = await w.cli('list');
  t.equal(list.code, 0);
  const [header, ...rows] = list.stdout.trim().split('\n').slice(1);
  t.match(header, /^KID\s+ALG\s+USE\s+STATE\s+CREATED\s+ACTIVATED\s+RETIRE-AFTER$/);
  t.equal(rows.length, 2);
  t.match(rows.find((row) => row.startsWith(first)), /ES256\s+sig\s+retiring/);
  t.match(rows.find((row) => row.startsWith(second)), /EdDSA\s+sig\s+active/);
  noPrivateMaterial(t, list.stdout, 'list');

  const status = await w.cli('status', '--json');
  t.equal(status.code, 0);
  const report = JSON.parse(status.stdout) as { activeKid: string; keys: { kid: string; prunable?: boolean }[] };
  t.equal(report.activeKid, second);
  t.equal(report.keys.find((key) => key.kid === first)?.prunable, false);
  noPrivateMaterial(t, status.stdout, 'status --json');
  t.notMatch(status.stdout, /privateJwk/);

  const before = await w.snapshot();
  const prune = await w.cli('prune');
  t.equal(prune.code, 0);
  t.match(prune.stdout, /nothing to prune/);
  t.match(prune.stdout, new RegExp(`kept ${first}: retiring: .* until `));
  t.match(prune.stdout, new RegExp(`kept ${second}: active`));
  t.same(await w.snapshot(), before, 'a prune that removes nothing changes nothing');

  const audit = await w.auditLines();
  t.same(
    audit.map((line) => [line.event, line.kid, line.from, line.to]),
    [
      ['key.generate', first, null, 'next'],
      ['key.activate', first, 'next', 'active'],
      ['key.generate', second, null, 'next'],
      ['key.activate', second, 'next', 'active'],
      ['key.activate', first, 'active', 'retiring'],
    ],
  );
  for (const line of audit) {
    t.equal(line.actor, userInfo().username);
    t.match(line, { time: String, alg: String, host: String, store: w.store });
  }
  t.equal(audit[4]?.retireAfter, old.retireAfter);
  noPrivateMaterial(t, await readFile(w.audit, 'utf8'), 'audit log');
});

t.test('prune removes a retiring key once its retention has passed', async (t) => {
  const w = workspace(t);
  const first = kidFrom((await w.cli('generate')).stdout);
  await w.cli('activate', first, '--force');
  const second = kidFrom((await w.cli('generate')).stdout);
  const zero = ['--jwks-max-age', '0', '--max-token-lifetime', '0', '--replay-window', '0'];
  t.equal((await w.cli('activate', second, ...zero)).code, 0);
  const prune = await w.cli('prune');
  t.equal(prune.code, 0);
  t.match(prune.stdout, new RegExp(`removed ${first}: retention ended`));
  t.same(
    (await w.readStore()).keys.map((key) => key.kid),
    [second],
  );
  const last = (await w.auditLines()).at(-1);
  t.match(last, { event: 'key.prune', kid: first, from: 'retiring', to: 'retired' });
});

t.test('activate --force prints a warning and audits it', async (t) => {
  const w = workspace(t);
  const kid = kidFrom((await w.cli('generate')).stdout);
  const forced = await w.cli('activate', kid, '--force');
  t.equal(forced.code, 0);
  t.match(forced.stderr, /^WARNING: .*published for \d+s, less than .* 600s/m);
  t.match((await w.auditLines()).at(-1), { event: 'key.activate', kid, forced: true, warnings: [String] });
});

t.test('retire: next -> retiring; the active key is refused', async (t) => {
  const w = workspace(t);
  const active = kidFrom((await w.cli('generate')).stdout);
  await w.cli('activate', active, '--force');
  const next = kidFrom((await w.cli('generate')).stdout);

  const before = await w.snapshot();
  const refused = await w.cli('retire', active);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /WOULD_LEAVE_NO_ACTIVE_KEY/);
  t.same(await w.snapshot(), before);

  const retired = await w.cli('retire', next);
  t.equal(retired.code, 0, retired.stderr);
  t.match(retired.stdout, new RegExp(`${next}: next -> retiring`));
  t.match((await w.auditLines()).at(-1), { event: 'key.retire', kid: next, from: 'next', to: 'retiring' });

  const again = await w.cli('retire', next);
  t.equal(again.code, 1);
  t.match(again.stderr, /ILLEGAL_TRANSITION/);
});

t.test('emergency-revoke', async (t) => {
  const w = workspace(t);
  const compromised = kidFrom((await w.cli('generate')).stdout);
  await w.cli('activate', compromised, '--force');

  const refused = await w.cli('emergency-revoke', compromised);
  t.equal(refused.code, 1, 'the active key must be replaced first');
  t.match(refused.stderr, /WOULD_LEAVE_NO_ACTIVE_KEY.*activate it/);

  const replacement = kidFrom((await w.cli('generate')).stdout);
  t.equal((await w.cli('activate', replacement, '--force')).code, 0);
  const revoked = await w.cli('emergency-revoke', compromised);
  t.equal(revoked.code, 0, revoked.stderr);
  t.match(revoked.stdout, /REVOKED/);
  t.match(revoked.stdout, /removed from the published JWKS/);
  t.match(revoked.stdout, /stops verifying/);
  t.match(revoked.stdout, /Kafka events/);
  noPrivateMaterial(t, revoked.stdout, 'revoke stdout');

  const key = (await w.readStore()).keys.find((k) => k.kid === compromised)!;
  t.equal(key.state, 'retired');
  t.equal(key.privateJwk, undefined, 'private key destroyed');
  t.ok(key.revokedAt);
  t.match((await w.auditLines()).at(-1), {
    event: 'key.emergency-revoke',
    kid: compromised,
    from: 'retiring',
    to: 'retired',
    consequences: Array,
  });

  const list = await w.cli('list');
  t.match(list.stdout, new RegExp(`${compromised}\\s+ES256\\s+sig\\s+retired \\(revoked\\)`));

  const twice = await w.cli('emergency-revoke', compromised);
  t.equal(twice.code, 1);
  t.match(twice.stderr, /ILLEGAL_TRANSITION/);
});

t.test('export --k8s prints a Secret holding the store, and audits the export', async (t) => {
  const w = workspace(t);
  const kid = kidFrom((await w.cli('generate')).stdout);
  await w.cli('activate', kid, '--force');
  const exported = await w.cli('export', '--k8s', '--namespace', 'gatehouse-prod');
  t.equal(exported.code, 0, exported.stderr);
  const yaml = exported.stdout;
  t.match(yaml, /^apiVersion: v1$/m);
  t.match(yaml, /^kind: Secret$/m);
  t.match(yaml, /^ {2}name: gatehouse-signing-keys$/m);
  t.match(yaml, /^ {2}namespace: gatehouse-prod$/m);
  t.match(yaml, /^type: Opaque$/m);
  const data = /^ {2}keystore\.json: ([A-Za-z0-9+/=]+)$/m.exec(yaml)?.[1];
  t.ok(data, 'data.keystore.json present');
  t.equal(Buffer.from(data!, 'base64').toString('utf8'), await readFile(w.store, 'utf8'), 'exactly the store');
  t.match((await w.auditLines()).at(-1), { event: 'key.export', kids: [kid], format: 'k8s', namespace: 'gatehouse-prod' });

  const noFormat = await w.cli('export');
  t.equal(noFormat.code, 2);
  t.match(noFormat.stderr, /--k8s/);
  const badNamespace = await w.cli('export', '--k8s', '--namespace', 'Bad: {x}');
  t.equal(badNamespace.code, 2);
});

t.test('export refuses dev keys unless forced', async (t) => {
  const w = workspace(t);
  const { ensureDevKeyStore } = await import('../src/store.ts');
  await ensureDevKeyStore(w.store);
  const before = await w.snapshot();
  const refused = await w.cli('export', '--k8s');
  t.equal(refused.code, 1);
  t.match(refused.stderr, /DEV_KEYS_IN_EXPORT/);
  t.equal(refused.stdout, '', 'nothing printed');
  t.same(await w.snapshot(), before);
  const forced = await w.cli('export', '--k8s', '--force');
  t.equal(forced.code, 0);
  t.match(forced.stderr, /WARNING: exporting dev keys/);
});

t.test('wrong input is refused with a clear message, a non-zero exit, and no change', async (t) => {
  const w = workspace(t);
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
  const help = await run(['--help'], { cwd: w.dir });
  t.equal(help.code, 0);
  t.match(help.stdout, /exit status/);
});

t.test('a kid that starts with "-" is taken as a kid, not as options', async (t) => {
  const w = workspace(t);
  await w.cli('generate');
  const dashed = `-${'A'.repeat(42)}`;
  const result = await w.cli('activate', dashed);
  t.equal(result.code, 1);
  t.match(result.stderr, /UNKNOWN_KID/);
});

t.test('store problems exit 3 and are never overwritten', async (t) => {
  const w = workspace(t);
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

  const dirStore = await run(['list', '--store', w.dir], { cwd: w.dir });
  t.equal(dirStore.code, 3);
  t.match(dirStore.stderr, /KEYSTORE_UNREADABLE/);
});

t.test('a second concurrent mutation is refused by the lock', async (t) => {
  const w = workspace(t);
  await w.cli('generate');
  const before = await w.snapshot();
  await writeFile(`${w.store}.lock`, '{"pid":1}');
  const locked = await w.cli('generate');
  t.equal(locked.code, 3);
  t.match(locked.stderr, /KEYSTORE_LOCKED.*delete/);
  t.same(await w.snapshot(), before);
});

t.test('an unwritable audit log refuses the mutation before anything changes', async (t) => {
  const w = workspace(t);
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

  const early = await run(['activate', kidFrom(byEnv.stdout)], { cwd: dir, env: { ...env, GATEHOUSE_JWKS_MAX_AGE: '0' } });
  t.equal(early.code, 0, 'GATEHOUSE_JWKS_MAX_AGE is honoured');
});
