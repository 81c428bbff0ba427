import t from 'tap';
import { AccountStore, demoAccounts, hashPassword } from '../src/accounts.ts';

t.test('passwords are stored as Argon2id hashes and must be 12+ characters', async (t) => {
  const hash = await hashPassword('correct horse battery');
  t.match(hash, /^\$argon2id\$/);
  await t.rejects(hashPassword('short-pass1'), { code: 'PASSWORD_TOO_SHORT', name: 'PasswordPolicyError' });
  await t.rejects(AccountStore.create([{ ...demoAccounts('x')[0]!, password: 'elevenchars' }]), {
    code: 'PASSWORD_TOO_SHORT',
  });
});

t.test('authenticate verifies the password and never returns the hash', async (t) => {
  const store = await AccountStore.create(demoAccounts('a-demo-password'));
  const alice = await store.authenticate('Alice', 'a-demo-password');
  t.equal(alice?.id, 'alice', 'usernames are case-insensitive');
  t.notOk(alice && 'passwordHash' in alice);
  t.equal(await store.authenticate('alice', 'wrong-password-here'), undefined);
  t.equal(await store.authenticate('mallory', 'a-demo-password'), undefined);
  t.equal(store.hasDemoAccounts, true);
});

t.test('duplicate accounts are refused', async (t) => {
  const [a] = demoAccounts('a-demo-password');
  await t.rejects(AccountStore.create([a!, a!]), /duplicate account/);
});

t.test('hash-password prints an Argon2id hash from stdin and refuses short passwords', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const script = new URL('../src/cli/hash-password.ts', import.meta.url).pathname;
  const ok = spawnSync(process.execPath, [script], { input: 'a-long-enough-password\n', encoding: 'utf8' });
  t.equal(ok.status, 0);
  t.match(ok.stdout, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  const store = await AccountStore.create([
    {
      id: 'u',
      username: 'u',
      org_id: 'o',
      roles: [],
      subscription_level: 'basic',
      passwordHash: ok.stdout.trim(),
    },
  ]);
  t.ok(await store.authenticate('u', 'a-long-enough-password'), 'the printed hash verifies');
  const short = spawnSync(process.execPath, [script], { input: 'short', encoding: 'utf8' });
  t.equal(short.status, 2);
  t.match(short.stderr, /at least 12 characters/);
  t.equal(short.stdout, '');
});
