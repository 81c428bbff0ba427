// cachedDenyList: answers reused for ttlMs (the revocation propagation delay), then asked again;
// failures never remembered; one lookup per jti in flight; bounded; 0 turns it off.
import t from 'tap';
import { cachedDenyList, createValidator, type DenyList, localKeys } from '../src/index.ts';
import { refuses } from './support/assert.ts';
import { ACCESS, accessClaims, ISSUER, makeKey, NOW, sign } from './support/tokens.ts';

/** A deny list whose answers the test sets, counting every question it is asked. */
function store() {
  const revoked = new Set<string>();
  const asked: string[] = [];
  let failing = false;
  const list: DenyList = {
    has: async (jti) => {
      asked.push(jti);
      if (failing) throw new Error('store down');
      return revoked.has(jti);
    },
  };
  return {
    list,
    asked,
    revoke: (jti: string) => revoked.add(jti),
    fail: (value: boolean) => {
      failing = value;
    },
  };
}

function clock() {
  let now = NOW;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

t.test('an answer is reused for ttlMs, then asked again: a revocation shows after the delay', async (t) => {
  const s = store();
  const c = clock();
  const list = cachedDenyList(s.list, { ttlMs: 5000, now: c.now });
  t.equal(await list.has('j1'), false);
  s.revoke('j1');
  c.advance(4999);
  t.equal(await list.has('j1'), false, 'still the remembered answer inside the window');
  t.same(s.asked, ['j1'], 'one question for two calls');
  c.advance(1);
  t.equal(await list.has('j1'), true, 'asked again once the answer expired: now revoked');
  t.same(s.asked, ['j1', 'j1']);
  c.advance(4999);
  t.equal(await list.has('j1'), true, 'the revoked answer is remembered too');
  t.equal(s.asked.length, 2);
});

t.test('jtis are remembered separately', async (t) => {
  const s = store();
  s.revoke('bad');
  const list = cachedDenyList(s.list, { ttlMs: 1000, now: clock().now });
  t.equal(await list.has('good'), false);
  t.equal(await list.has('bad'), true);
  t.equal(await list.has('good'), false);
  t.equal(await list.has('bad'), true);
  t.same(s.asked, ['good', 'bad']);
});

t.test('a failed lookup is not remembered: every call asks, and fails', async (t) => {
  const s = store();
  const list = cachedDenyList(s.list, { ttlMs: 5000, now: clock().now });
  s.fail(true);
  await t.rejects(list.has('j1'), { message: 'store down' });
  await t.rejects(list.has('j1'), { message: 'store down' });
  t.equal(s.asked.length, 2, 'no answer was cached');
  s.fail(false);
  t.equal(await list.has('j1'), false);
  t.equal(s.asked.length, 3);
});

t.test('concurrent calls for one jti share one lookup', async (t) => {
  const s = store();
  const list = cachedDenyList(s.list, { ttlMs: 5000, now: clock().now });
  const answers = await Promise.all([list.has('j1'), list.has('j1'), list.has('j1'), list.has('j2')]);
  t.same(answers, [false, false, false, false]);
  t.same(s.asked, ['j1', 'j2']);
});

t.test('bounded: the oldest jti is forgotten first', async (t) => {
  const s = store();
  const list = cachedDenyList(s.list, { ttlMs: 5000, maxEntries: 2, now: clock().now });
  await list.has('a');
  await list.has('b');
  await list.has('c'); // forgets a
  await list.has('b');
  await list.has('c');
  t.same(s.asked, ['a', 'b', 'c'], 'b and c remembered');
  await list.has('a');
  t.same(s.asked, ['a', 'b', 'c', 'a'], 'a was forgotten');
});

t.test('ttlMs 0 is no cache: the deny list itself', async (t) => {
  const s = store();
  t.equal(cachedDenyList(s.list, { ttlMs: 0 }), s.list);
});

t.test('bad options are programmer errors', async (t) => {
  const s = store();
  t.throws(() => cachedDenyList(s.list, { ttlMs: -1 }), TypeError);
  t.throws(() => cachedDenyList(s.list, { ttlMs: 1.5 }), TypeError);
  t.throws(() => cachedDenyList(s.list, { ttlMs: 10, maxEntries: 0 }), TypeError);
  t.throws(() => cachedDenyList({} as DenyList, { ttlMs: 10 }), TypeError);
});

t.test('through the validator: a cached token is refused once the revocation is seen', async (t) => {
  const key = await makeKey('k1');
  const s = store();
  const c = clock();
  const validator = createValidator({
    issuer: ISSUER,
    keys: localKeys(() => ({ keys: [key.jwk] })),
    denyList: cachedDenyList(s.list, { ttlMs: 2000, now: c.now }),
    now: c.now,
  });
  const token = await sign(key, accessClaims({ jti: 'jti-revoked-later' }));
  await validator.verify(token, ACCESS);
  s.revoke('jti-revoked-later');
  await validator.verify(token, ACCESS);
  t.equal(s.asked.length, 1, 'the second verify used the remembered answer');
  c.advance(2000);
  await refuses(t, validator.verify(token, ACCESS), 'ERR_TOKEN_REVOKED');
  s.fail(true);
  c.advance(2000);
  await t.rejects(validator.verify(token, ACCESS), { code: 'ERR_VALIDATOR_UNAVAILABLE' }, 'fails closed when the store cannot answer');
});
