// The pure core of rate limiting: policies as data, counter keys, and the combined decision.
import t from 'tap';
import {
  decide,
  DEFAULT_POLICIES,
  RATE_LIMIT_POLICY_NAMES,
  rateLimitKey,
  resolvePolicies,
  type WindowState,
  windowKey,
} from '../src/rate-limit/policy.ts';

t.test('dev defaults from the design notes', async (t) => {
  t.same(DEFAULT_POLICIES['api-key'], [
    { max: 1000, window: 60_000 },
    { max: 100, window: 1000 },
  ]);
  t.same(DEFAULT_POLICIES.user, [
    { max: 500, window: 60_000 },
    { max: 50, window: 1000 },
  ]);
  t.same(DEFAULT_POLICIES.public, [{ max: 100, window: 60_000 }]);
  for (const name of RATE_LIMIT_POLICY_NAMES) t.ok(DEFAULT_POLICIES[name].length > 0, `${name} has windows`);
  t.ok(Object.isFrozen(DEFAULT_POLICIES) && Object.isFrozen(DEFAULT_POLICIES.user), 'defaults cannot be mutated');
});

t.test('overrides replace a policy whole and are validated', async (t) => {
  const p = resolvePolicies({ user: [{ max: 3, window: 1000 }] });
  t.same(p.user, [{ max: 3, window: 1000 }]);
  t.same(p['api-key'], DEFAULT_POLICIES['api-key'], 'others keep their defaults');
  t.throws(() => resolvePolicies({ user: [] }), /at least one window/);
  t.throws(() => resolvePolicies({ user: [{ max: 0, window: 1000 }] }), /max must be a positive integer/);
  t.throws(() => resolvePolicies({ user: [{ max: 1.5, window: 1000 }] }), /max must be a positive integer/);
  t.throws(() => resolvePolicies({ user: [{ max: 1, window: -1 }] }), /window must be a positive integer/);
  t.throws(
    () => resolvePolicies({ user: [{ max: 1, window: 1000 }, { max: 2, window: 1000 }] }),
    /two windows of 1000 ms/,
    'one window length per policy (it is part of the counter key)',
  );
  t.throws(() => resolvePolicies({ nope: [{ max: 1, window: 1 }] } as never), /unknown rate-limit policy/);
});

t.test('keys: one prefix per policy, keyed by the policy fact, IP when it is missing', async (t) => {
  const facts = { sub: 'alice', clientId: 'sales', apiKeyId: 'key_123', ip: '192.0.2.1' };
  t.equal(rateLimitKey('user', facts), 'user:sub:alice');
  t.equal(rateLimitKey('client', facts), 'client:cid:sales');
  t.equal(rateLimitKey('api-key', facts), 'api-key:kid:key_123');
  t.equal(rateLimitKey('ip', facts), 'ip:ip:192.0.2.1');
  t.equal(rateLimitKey('public', facts), 'public:ip:192.0.2.1');
  const anonymous = { ip: '192.0.2.1' };
  t.equal(rateLimitKey('user', anonymous), 'user:ip:192.0.2.1');
  t.equal(rateLimitKey('client', anonymous), 'client:ip:192.0.2.1');
  t.equal(rateLimitKey('api-key', anonymous), 'api-key:ip:192.0.2.1');
  t.not(rateLimitKey('user', { sub: 'bob', ip: '1' }), rateLimitKey('user', { sub: 'alice', ip: '1' }));
  t.equal(rateLimitKey('user', { sub: 'alice', ip: '1' }), rateLimitKey('user', { sub: 'alice', ip: '2' }), 'a user keeps one budget across addresses');
  t.not(rateLimitKey('user', { ip: 'x' }), rateLimitKey('user', { sub: 'x', ip: 'y' }), 'a sub cannot pose as an address');
});

t.test('keys never hold a raw API key, long or odd values are hashed', async (t) => {
  const raw = 'gth_live_' + 'a'.repeat(32);
  const key = rateLimitKey('api-key', { apiKeyId: raw, ip: '1' });
  t.notMatch(key, raw);
  t.match(key, /^api-key:kid:#[A-Za-z0-9_-]{43}$/);
  t.equal(key, rateLimitKey('api-key', { apiKeyId: raw, ip: '2' }), 'hashing is stable');
  t.match(rateLimitKey('user', { sub: 'x'.repeat(200), ip: '1' }), /^user:sub:#/);
  t.match(rateLimitKey('user', { sub: 'a b\n', ip: '1' }), /^user:sub:#/);
  t.match(rateLimitKey('user', { sub: '#abc', ip: '1' }), /^user:sub:#/, "a raw value never starts with '#'");
});

t.test('window keys are distinct per window', async (t) => {
  t.equal(windowKey('user:sub:a', { max: 1, window: 1000 }), 'user:sub:a:w1000');
  t.not(windowKey('user:sub:a', { max: 1, window: 1000 }), windowKey('user:sub:a', { max: 1, window: 60_000 }));
});

t.test('decide: headers describe the tightest window; any exceeded window refuses', async (t) => {
  const minute = { max: 500, window: 60_000 };
  const second = { max: 50, window: 1000 };
  const s = (window: typeof minute, remaining: number, resetSeconds: number, exceeded = false): WindowState => ({
    window,
    remaining,
    resetSeconds,
    exceeded,
  });

  const ok = decide([s(minute, 499, 60), s(second, 49, 1)]);
  t.equal(ok.allowed, true);
  t.equal(ok.reported.window, second, 'least remaining');
  t.same(ok.exceeded, []);

  const tie = decide([s(minute, 5, 40), s(second, 5, 1)]);
  t.equal(tie.reported.window, minute, 'on a tie, the one that resets last');

  const burst = decide([s(minute, 440, 50), s(second, 0, 1, true)]);
  t.equal(burst.allowed, false);
  t.equal(burst.reported.window, second);
  t.equal(burst.retryAfterSeconds, 1);

  const both = decide([s(minute, 0, 37, true), s(second, 0, 1, true)]);
  t.equal(both.retryAfterSeconds, 37, 'retry after the longest exceeded window');
  t.equal(both.exceeded.length, 2);

  t.equal(decide([s(second, 0, 0, true)]).retryAfterSeconds, 1, 'Retry-After is at least 1');
  t.throws(() => decide([]));
});
