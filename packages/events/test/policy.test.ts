// The pure expiry/replay policy: table tests of evaluateExpiry (each condition of docs/events.md,
// in order) and parseExpiryPolicy's refusals.
import { ConfigError } from '@gatehouse/config';
import t from 'tap';
import type { ExpiryInput, ReplayGrantFacts } from '../src/index.ts';
import { evaluateExpiry, parseExpiryPolicy, STRICT_POLICY } from '../src/index.ts';

const NOW = Date.parse('2025-10-09T12:00:00Z');
const DAY = 86_400;
const POLICY = {
  replay: { allowedClients: ['sales'], eventTypes: ['orders.created'], maxEventAgeSeconds: 30 * DAY },
};
const GRANT: ReplayGrantFacts = { clientId: 'sales', scopes: ['events:replay'], hash: 'grant-hash' };

function input(overrides: Partial<ExpiryInput> = {}): ExpiryInput {
  return {
    tokenExpired: true,
    policy: POLICY,
    eventType: 'orders.created',
    eventTime: '2025-10-01T12:00:00Z',
    nowMs: NOW,
    grant: GRANT,
    proofGrantHash: 'grant-hash',
    ...overrides,
  };
}

t.test('evaluateExpiry', async (t) => {
  const table: [string, Partial<ExpiryInput>, ReturnType<typeof evaluateExpiry>][] = [
    [
      'fresh token: accepted whatever else',
      { tokenExpired: false, policy: STRICT_POLICY, grant: 'invalid' },
      { accept: true, basis: 'fresh' },
    ],
    ['expired, every condition holds', {}, { accept: true, basis: 'replay' }],
    ['expired, strict policy', { policy: STRICT_POLICY }, { accept: false, code: 'ERR_EVENT_EXPIRED' }],
    ['expired, no grant', { grant: undefined }, { accept: false, code: 'ERR_EVENT_EXPIRED' }],
    [
      'strict policy wins over an invalid grant',
      { policy: STRICT_POLICY, grant: 'invalid' },
      { accept: false, code: 'ERR_EVENT_EXPIRED' },
    ],
    [
      'grant failed validation',
      { grant: 'invalid' },
      { accept: false, code: 'ERR_EVENT_REPLAY_GRANT_INVALID' },
    ],
    [
      'client not allowed',
      { grant: { ...GRANT, clientId: 'billing' } },
      { accept: false, code: 'ERR_EVENT_REPLAY_CLIENT' },
    ],
    [
      'grant without client',
      { grant: { scopes: ['events:replay'], hash: 'grant-hash' } },
      { accept: false, code: 'ERR_EVENT_REPLAY_CLIENT' },
    ],
    [
      'scope lacks events:replay',
      { grant: { ...GRANT, scopes: ['events:read'] } },
      { accept: false, code: 'ERR_EVENT_REPLAY_SCOPE' },
    ],
    [
      'client is checked before scope',
      { grant: { ...GRANT, clientId: 'x', scopes: [] } },
      { accept: false, code: 'ERR_EVENT_REPLAY_CLIENT' },
    ],
    [
      'event type not replayable',
      { eventType: 'orders.cancelled' },
      { accept: false, code: 'ERR_EVENT_REPLAY_TYPE' },
    ],
    [
      'event older than the max age',
      { eventTime: '2025-09-09T11:59:59Z' },
      { accept: false, code: 'ERR_EVENT_REPLAY_TOO_OLD' },
    ],
    [
      'event exactly at the max age',
      { eventTime: '2025-09-09T12:00:00Z' },
      { accept: true, basis: 'replay' },
    ],
    [
      'event time unreadable',
      { eventTime: 'yesterday' },
      { accept: false, code: 'ERR_EVENT_REPLAY_TOO_OLD' },
    ],
    [
      'proof names no grant',
      { proofGrantHash: undefined },
      { accept: false, code: 'ERR_EVENT_REPLAY_UNBOUND' },
    ],
    [
      'proof names another grant',
      { proofGrantHash: 'other-hash' },
      { accept: false, code: 'ERR_EVENT_REPLAY_UNBOUND' },
    ],
    [
      'age is checked before binding',
      { eventTime: '2020-01-01T00:00:00Z', proofGrantHash: 'x' },
      { accept: false, code: 'ERR_EVENT_REPLAY_TOO_OLD' },
    ],
    [
      'inside the range',
      { grant: { ...GRANT, range: { from: '2025-10-01T00:00:00Z', to: '2025-10-02T00:00:00Z' } } },
      { accept: true, basis: 'replay' },
    ],
    [
      'on the range bounds (inclusive)',
      { grant: { ...GRANT, range: { from: '2025-10-01T12:00:00Z', to: '2025-10-01T12:00:00Z' } } },
      { accept: true, basis: 'replay' },
    ],
    [
      'before from',
      { grant: { ...GRANT, range: { from: '2025-10-01T12:00:01Z' } } },
      { accept: false, code: 'ERR_EVENT_REPLAY_OUT_OF_RANGE' },
    ],
    [
      'after to',
      { grant: { ...GRANT, range: { to: '2025-10-01T11:59:59Z' } } },
      { accept: false, code: 'ERR_EVENT_REPLAY_OUT_OF_RANGE' },
    ],
    [
      'offsets compared as instants',
      { grant: { ...GRANT, range: { to: '2025-10-01T14:00:00+02:00' } } },
      { accept: true, basis: 'replay' },
    ],
    [
      'unreadable bound excludes',
      { grant: { ...GRANT, range: { from: 'last week' } } },
      { accept: false, code: 'ERR_EVENT_REPLAY_OUT_OF_RANGE' },
    ],
    [
      'binding is checked before range',
      { proofGrantHash: 'x', grant: { ...GRANT, range: { to: '2000-01-01T00:00:00Z' } } },
      { accept: false, code: 'ERR_EVENT_REPLAY_UNBOUND' },
    ],
  ];
  for (const [label, overrides, expected] of table) {
    t.same(evaluateExpiry(input(overrides)), expected, label);
  }
});

t.test('parseExpiryPolicy accepts the documented forms', async (t) => {
  t.same(parseExpiryPolicy({}), {}, 'strict');
  t.same(parseExpiryPolicy(POLICY), POLICY, 'with replay');
  t.same(STRICT_POLICY, {});
  t.ok(Object.isFrozen(STRICT_POLICY), 'the shared strict policy cannot be edited into a lax one');
});

t.test('parseExpiryPolicy refuses with the field name', async (t) => {
  const replay = POLICY.replay;
  const cases: [string, unknown, string][] = [
    ['not an object', 'strict', '(policy)'],
    ['null', null, '(policy)'],
    ['unknown top-level member', { replays: replay }, '(policy)'],
    ['unknown replay member', { replay: { ...replay, maxAge: 1 } }, 'replay'],
    ['allowedClients missing', { replay: { ...replay, allowedClients: undefined } }, 'replay.allowedClients'],
    ['allowedClients empty', { replay: { ...replay, allowedClients: [] } }, 'replay.allowedClients'],
    ['empty client name', { replay: { ...replay, allowedClients: [''] } }, 'replay.allowedClients.0'],
    ['eventTypes not an array', { replay: { ...replay, eventTypes: 'orders.created' } }, 'replay.eventTypes'],
    [
      'maxEventAgeSeconds zero',
      { replay: { ...replay, maxEventAgeSeconds: 0 } },
      'replay.maxEventAgeSeconds',
    ],
    [
      'maxEventAgeSeconds fractional',
      { replay: { ...replay, maxEventAgeSeconds: 1.5 } },
      'replay.maxEventAgeSeconds',
    ],
    [
      'maxEventAgeSeconds a string',
      { replay: { ...replay, maxEventAgeSeconds: '30' } },
      'replay.maxEventAgeSeconds',
    ],
  ];
  for (const [label, json, field] of cases) {
    let error: unknown;
    try {
      parseExpiryPolicy(json);
    } catch (caught) {
      error = caught;
    }
    t.ok(error instanceof ConfigError, `${label}: ConfigError`);
    t.ok((error as ConfigError | undefined)?.settings.includes(field), `${label}: names ${field}`);
    t.match((error as Error | undefined)?.message ?? '', field, `${label}: message names ${field}`);
  }
});
