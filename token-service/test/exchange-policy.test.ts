import t from 'tap';
import { defaultExchangePolicy } from '../src/policy/default-policy.ts';
import {
  type ExchangeRequest,
  evaluateExchange,
  parseExchangePolicy,
} from '../src/policy/exchange-policy.ts';

const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const SHIPPING = 'urn:gatehouse:consumer:shipping';
const INVOICING = 'urn:gatehouse:consumer:invoicing';
const policy = defaultExchangePolicy(86400);

const request = (over: Partial<ExchangeRequest> = {}): ExchangeRequest => ({
  clientId: 'gateway',
  subjectTokenType: ACCESS,
  subjectScopes: ['openid', 'orders:read', 'orders:write'],
  subjectClaims: {
    org_id: 'acme',
    subscription_level: 'premium',
    roles: [],
    email: 'a@example.com',
    name: 'A',
  },
  audiences: [SHIPPING, INVOICING],
  producer: 'sales',
  ...over,
});

t.test('grants the mapped scope, the listed claims, the default ttl and the binding', async (t) => {
  const result = evaluateExchange(policy, request());
  t.same(result, {
    ok: true,
    decision: {
      audiences: [SHIPPING, INVOICING],
      scopes: ['orders.created'],
      ttl: 86400,
      claims: { org_id: 'acme', subscription_level: 'premium', roles: [] },
      bindTo: 'sales',
    },
  });
});

t.test('never widens: scope only from what the subject holds, through the map', async (t) => {
  t.match(evaluateExchange(policy, request({ subjectScopes: ['orders:read'] })), {
    ok: false,
    error: 'invalid_scope',
    reason: 'subject_scope_maps_to_nothing',
  });
  t.match(evaluateExchange(policy, request({ requestedScopes: ['orders.created', 'admin'] })), {
    ok: false,
    error: 'invalid_scope',
    reason: 'scope_exceeds_subject_or_policy',
  });
  t.match(evaluateExchange(policy, request({ requestedScopes: [] })), { ok: false, error: 'invalid_scope' });
});

t.test('lifetime: requested up to maxTtl, invalid values refused', async (t) => {
  t.match(evaluateExchange(policy, request({ requestedTtl: 60 })), { ok: true, decision: { ttl: 60 } });
  t.match(evaluateExchange(policy, request({ requestedTtl: 10 ** 9 })), {
    ok: true,
    decision: { ttl: 86400 },
  });
  t.match(evaluateExchange(policy, request({ requestedTtl: 1.5 })), { ok: false, error: 'invalid_request' });
  t.match(evaluateExchange(policy, request({ requestedTtl: Number.NaN })), {
    ok: false,
    error: 'invalid_request',
  });
});

t.test('targets and clients', async (t) => {
  t.match(evaluateExchange(policy, request({ clientId: 'shipping' })), {
    ok: false,
    error: 'unauthorized_client',
  });
  t.match(evaluateExchange(policy, request({ audiences: [] })), { ok: false, error: 'invalid_target' });
  t.match(evaluateExchange(policy, request({ audiences: [SHIPPING, 'urn:x'] })), {
    ok: false,
    error: 'invalid_target',
    reason: 'audience_not_allowed',
  });
  t.match(evaluateExchange(policy, request({ subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt' })), {
    ok: false,
    error: 'invalid_request',
  });
  t.match(evaluateExchange(policy, request({ audiences: [SHIPPING, SHIPPING] })), {
    ok: true,
    decision: { audiences: [SHIPPING] },
  });
});

t.test('cnf binding: required, allowed producers only, self resolves to the client', async (t) => {
  t.match(evaluateExchange(policy, request({ producer: undefined })), {
    ok: false,
    reason: 'producer_required',
  });
  t.match(evaluateExchange(policy, request({ producer: 'shipping' })), {
    ok: false,
    reason: 'producer_not_allowed',
  });
  t.match(evaluateExchange(policy, request({ clientId: 'sales', producer: 'self' })), {
    ok: true,
    decision: { bindTo: 'sales' },
  });
  t.match(evaluateExchange(policy, request({ clientId: 'sales', producer: 'gateway' })), { ok: false });
  const never = parseExchangePolicy({
    clients: {
      gateway: {
        subjectTokenTypes: ['access_token'],
        targets: [
          {
            audiences: [SHIPPING],
            scopeMap: { 'orders:write': ['x'] },
            defaultTtl: 1,
            maxTtl: 1,
            claims: [],
            cnf: 'never',
          },
        ],
      },
    },
  });
  t.match(evaluateExchange(never, request({ audiences: [SHIPPING] })), {
    ok: false,
    reason: 'binding_not_allowed',
  });
  t.match(evaluateExchange(never, request({ audiences: [SHIPPING], producer: undefined })), {
    ok: true,
    decision: { claims: {} },
  });
});

t.test('the policy document is validated', async (t) => {
  const target = { audiences: ['a'], scopeMap: {}, defaultTtl: 10, maxTtl: 5, claims: [], cnf: 'optional' };
  t.throws(
    () => parseExchangePolicy({ clients: { c: { subjectTokenTypes: ['access_token'], targets: [target] } } }),
    /defaultTtl exceeds maxTtl/,
  );
  t.throws(
    () =>
      parseExchangePolicy({
        clients: {
          c: { subjectTokenTypes: ['access_token'], targets: [{ ...target, maxTtl: 10, cnf: 'required' }] },
        },
      }),
    /no producers/,
  );
  t.throws(() =>
    parseExchangePolicy({
      clients: { c: { subjectTokenTypes: ['access_token'], targets: [{ ...target, claims: ['email'] }] } },
    }),
  );
  t.throws(() => parseExchangePolicy({ clients: {}, extra: true }), 'unknown keys refused');
});
