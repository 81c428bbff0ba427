// The CLI's happy paths, spawned as operators run it: rotation, prune, retire, revoke, export.
import { readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import t from 'tap';
import { ensureDevKeyStore } from '../src/store.ts';
import { kidFrom, privateMembersIn, workspace } from './cli-helpers.ts';

// Every case spawns Node, which loads zod and jose and strips types: about half a second each,
// more on a busy machine, so the default 30 s per file is too tight.
t.setTimeout(180_000);

t.test('scheduled rotation end to end: generate, activate, rotate, prune', async (t) => {
  const w = workspace(t.testdir());

  const gen1 = await w.cli('generate');
  t.equal(gen1.code, 0, gen1.stderr);
  const first = kidFrom(gen1.stdout);
  t.match(gen1.stdout, /state next/);
  t.match(gen1.stdout, /can be activated from/);
  t.same(privateMembersIn(gen1.stdout), [], 'generate stdout');
  t.equal((await stat(w.store)).mode & 0o777, 0o600);

  const early = await w.cli('activate', first);
  t.equal(early.code, 1, 'activation before the JWKS max age is refused');
  t.match(early.stderr, /NOT_PUBLISHED_LONG_ENOUGH/);

  const activated = await w.cli('activate', first, '--jwks-max-age', '0');
  t.equal(activated.code, 0, activated.stderr);
  t.match(activated.stdout, new RegExp(`${first}: next -> active`));

  const gen2 = await w.cli('generate', '--alg', 'EdDSA');
  const second = kidFrom(gen2.stdout);
  const rotated = await w.cli(
    'activate',
    second,
    '--jwks-max-age',
    '0',
    '--max-token-lifetime',
    '1h',
    '--replay-window',
    '1d',
  );
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
  t.match(
    rows.find((row) => row.startsWith(first)),
    /ES256\s+sig\s+retiring/,
  );
  t.match(
    rows.find((row) => row.startsWith(second)),
    /EdDSA\s+sig\s+active/,
  );
  t.same(privateMembersIn(list.stdout), [], 'list');

  const status = await w.cli('status', '--json');
  t.equal(status.code, 0);
  const report = JSON.parse(status.stdout) as {
    activeKid: string;
    keys: { kid: string; prunable?: boolean }[];
  };
  t.equal(report.activeKid, second);
  t.equal(report.keys.find((key) => key.kid === first)?.prunable, false);
  t.same(privateMembersIn(status.stdout), [], 'status --json');
  t.notMatch(status.stdout, /privateJwk/);

  const text = await w.cli('status');
  t.equal(text.code, 0);
  t.match(text.stdout, new RegExp(`^active +${second} \\(EdDSA\\) signing since `, 'm'));
  t.match(text.stdout, new RegExp(`^retiring +${first} \\(ES256\\) verify only, can be pruned: 20`, 'm'));

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
  t.same(privateMembersIn(await readFile(w.audit, 'utf8')), [], 'audit log');
  t.same(
    privateMembersIn(await readFile(w.store, 'utf8')),
    ['d'],
    'while the store does hold them (checks the check)',
  );
});

t.test('prune removes a retiring key once its retention has passed', async (t) => {
  const w = workspace(t.testdir());
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
  const w = workspace(t.testdir());
  const kid = kidFrom((await w.cli('generate')).stdout);
  const forced = await w.cli('activate', kid, '--force');
  t.equal(forced.code, 0);
  t.match(forced.stderr, /^WARNING: .*published for \d+s, less than .* 600s/m);
  t.match((await w.auditLines()).at(-1), { event: 'key.activate', kid, forced: true, warnings: [String] });
});

t.test('retire: next -> retiring; the active key is refused', async (t) => {
  const w = workspace(t.testdir());
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
  const w = workspace(t.testdir());
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
  t.same(privateMembersIn(revoked.stdout), [], 'revoke stdout');

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
  const w = workspace(t.testdir());
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
  t.equal(
    Buffer.from(data!, 'base64').toString('utf8'),
    await readFile(w.store, 'utf8'),
    'exactly the store',
  );
  t.match((await w.auditLines()).at(-1), {
    event: 'key.export',
    kids: [kid],
    format: 'k8s',
    namespace: 'gatehouse-prod',
  });

  const noFormat = await w.cli('export');
  t.equal(noFormat.code, 2);
  t.match(noFormat.stderr, /--k8s/);
  const badNamespace = await w.cli('export', '--k8s', '--namespace', 'Bad: {x}');
  t.equal(badNamespace.code, 2);
});

t.test('export refuses dev keys unless forced', async (t) => {
  const w = workspace(t.testdir());
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
