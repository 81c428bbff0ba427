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
