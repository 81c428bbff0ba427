import type { EventBus } from '@gatehouse/event-bus';
import { type EventRecord, HEADER } from '@gatehouse/events';
import { openDatabase } from '@gatehouse/sql';
import t, { type Test } from 'tap';
import { DLQ, recordEffect, type RuntimeOptions, startRuntime as start, TOPIC } from './support/runtime.ts';
import { INVOICING, makeWorld, metricValue, until, USERS } from './support/world.ts';

const world = await makeWorld();
// One embedded database for the file (event ids are unique per test): it is the slow part to open.
const db = await openDatabase();
t.teardown(() => db.close());
const startRuntime = (t: Test, w: typeof world, options: RuntimeOptions = {}) => start(t, w, { db, ...options });
const { alice, bob } = USERS;

const withHeaders = (record: EventRecord, headers: Record<string, string | undefined>): EventRecord => {
  const merged: Record<string, string> = { ...record.headers };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return { ...record, headers: merged };
};

t.test('an accepted event is applied once, with the principal from the message token', async (t) => {
  const rt = await startRuntime(t, world);
  const record = await world.order(alice);
  await rt.publish(record);
  const row = await rt.applied(record);
  t.match(row, { customer: alice.sub, org_id: 'acme', level: 'premium', basis: 'fresh' });
  t.equal(await rt.processedCount(record.headers.ce_id!), 1);
  t.equal(metricValue(await rt.metrics(), 'gatehouse_events_processed_total', { consumer: 'shipping', basis: 'fresh' }), 1);
  t.same(rt.deadLettered(), []);
});

t.test('a duplicate delivery is processed once and counted as deduplicated', async (t) => {
  const rt = await startRuntime(t, world);
  const record = await world.order(bob);
  const marker = await world.order(bob, { orderId: record.headers.ce_subject! });
  await rt.publish(record, record, record, marker);
  await rt.applied(marker);
  t.equal(await rt.processedCount(record.headers.ce_id!), 1);
  const text = await rt.metrics();
  t.equal(metricValue(text, 'gatehouse_events_deduplicated_total', { consumer: 'shipping' }), 2);
  t.equal(metricValue(text, 'gatehouse_events_processed_total', { consumer: 'shipping', basis: 'fresh' }), 2);
});

/** Each refused record: its mutation of a good record, and the dead-letter reason. */
const refusals: Array<[string, (orderId: string) => Promise<EventRecord>]> = [
  ['ERR_EVENT_MALFORMED', async (id) => ({ ...(await world.order(alice, { orderId: id })), value: Buffer.from('{not json') })],
  [
    'ERR_EVENT_DIGEST_MISMATCH',
    async (id) => {
      const record = await world.order(alice, { orderId: id });
      const data = JSON.parse(record.value.toString('utf8'));
      return { ...record, value: Buffer.from(JSON.stringify({ ...data, total: 1 })) };
    },
  ],
  ['ERR_EVENT_TOKEN_MISSING', async (id) => withHeaders(await world.order(alice, { orderId: id }), { [HEADER.messageToken]: undefined })],
  ['ERR_EVENT_PROOF_MISSING', async (id) => withHeaders(await world.order(alice, { orderId: id }), { [HEADER.proof]: undefined })],
  [
    'ERR_TOKEN_AUDIENCE',
    async (id) => world.order(alice, { orderId: id, token: await world.messageToken(alice, { aud: [INVOICING] }) }),
  ],
  ['ERR_EVENT_PROOF_INVALID', async (id) => world.order(alice, { orderId: id, signer: await world.forger() })],
  [
    'ERR_EVENT_PROOF_MISMATCH',
    async (id) => {
      // The proof of another event, moved onto this one.
      const other = await world.order(alice, { orderId: id });
      return withHeaders(await world.order(alice, { orderId: id }), { [HEADER.proof]: other.headers[HEADER.proof] });
    },
  ],
  [
    'ERR_EVENT_SCOPE',
    async (id) => world.order(alice, { orderId: id, token: await world.messageToken(alice, { scope: 'orders.deleted' }) }),
  ],
  ['ERR_EVENT_ORG_MISMATCH', async (id) => world.order(alice, { orderId: id, data: { org_id: 'globex' } })],
  ['ERR_EVENT_EXPIRED', async (id) => world.order(alice, { orderId: id, token: await world.expiredMessageToken(alice) })],
  [
    'ERR_EVENT_REPLAY_CLIENT',
    async (id) =>
      world.order(alice, {
        orderId: id,
        token: await world.expiredMessageToken(alice),
        grant: await world.replayGrant({ client_id: 'intruder' }),
      }),
  ],
  // The business logic's own refusals: verified, but not an order it can apply.
  ['ERR_EVENT_DATA_INVALID', async (id) => world.order(alice, { orderId: id, data: { total: 99 } })],
  ['ERR_EVENT_SUBJECT_MISMATCH', async (id) => world.order(alice, { orderId: id, data: { customer: bob.sub } })],
  ['ERR_EVENT_TYPE_UNSUPPORTED', async (id) => world.order(alice, { orderId: id, attributes: { type: 'orders.deleted' }, token: await world.messageToken(alice, { scope: 'orders.deleted' }) })],
];

t.test('every refusal is dead-lettered with its reason and original headers, and the partition moves on', async (t) => {
  const rt = await startRuntime(t, world);
  for (const [reason, make] of refusals) {
    await t.test(reason, async (t) => {
      const orderId = crypto.randomUUID();
      const bad = await make(orderId);
      // Same key, so same partition, after the refused record: reached only if its offset moved on.
      const next = await world.order(alice, { orderId });
      await rt.publish(bad, next);
      await rt.applied(next);
      const dead = rt.deadLettered().filter((m) => m.headers[HEADER.dlqReason] === reason);
      t.equal(dead.length, 1, 'one dead letter with this reason');
      const letter = dead[0]!;
      for (const [name, value] of Object.entries(bad.headers)) t.equal(letter.headers[name], value, `header ${name} kept`);
      t.same(letter.value, bad.value, 'value bytes kept');
      t.equal(letter.key, bad.key);
      t.equal(letter.headers[HEADER.dlqConsumer], 'shipping');
      t.match(letter.headers[HEADER.dlqOrigin], new RegExp(`^${TOPIC}/\\d+/\\d+$`));
      t.equal(letter.headers[HEADER.dlqTime], new Date(1_760_000_000_000).toISOString());
      t.equal(await rt.processedCount(bad.headers.ce_id ?? ''), 0, 'not recorded as processed');
      const audited = rt.audit.find((r) => r.event === 'event.refused' && r.reason === reason);
      t.match(audited, { outcome: 'denied', consumer: 'shipping', topic: TOPIC, offset: String });
      t.equal(metricValue(await rt.metrics(), 'gatehouse_events_refused_total', { consumer: 'shipping', reason }), 1);
    });
  }
  t.equal(
    metricValue(await rt.metrics(), 'gatehouse_events_dead_lettered_total', { consumer: 'shipping' }),
    refusals.length,
  );
  t.notOk(JSON.stringify(rt.audit).includes('eyJ'), 'no token in the audit stream');
});

t.test('a validator that cannot answer is retried, never dead-lettered', async (t) => {
  let failures = 3;
  const denyList = {
    async has() {
      if (failures > 0) {
        failures -= 1;
        throw new Error('redis down');
      }
      return false;
    },
  };
  const rt = await startRuntime(t, world, { denyList });
  const record = await world.order(alice);
  await rt.publish(record);
  await rt.applied(record);
  t.equal(failures, 0, 'the deny list was asked until it answered');
  t.same(rt.deadLettered(), [], 'nothing dead-lettered');
  t.equal(metricValue(await rt.metrics(), 'gatehouse_events_retries_total', { consumer: 'shipping' }), 3);
});

t.test('records are verified ahead of their turn, then applied one at a time in order', async (t) => {
  const asked: string[] = [];
  const applied: string[] = [];
  const rt = await startRuntime(t, world, {
    denyList: {
      async has(jti) {
        asked.push(jti);
        return false;
      },
    },
    apply: async (event, tx) => {
      // The first record's effect waits for the next three records' verifications: they can only
      // have started if the consumer verifies ahead (the bus's prepare lookahead).
      if (applied.length === 0) await until(() => (asked.length >= 4 ? true : undefined), 'records verified ahead');
      applied.push(event.attributes.id);
      await recordEffect(event, tx);
    },
  });
  const first = await world.order(alice);
  // One order id: one key, one partition, so the four records queue behind each other.
  const rest = await Promise.all([1, 2, 3].map(() => world.order(alice, { orderId: first.headers.ce_subject! })));
  const records = [first, ...rest];
  await rt.publish(...records);
  for (const record of records) await rt.applied(record);
  t.same(applied, records.map((record) => record.headers.ce_id), 'applied in offset order');
  t.equal(asked.length, 4, 'each record verified once');
  t.same(rt.deadLettered(), []);
});

t.test('with proof signatures on a signature pool (EVENT_VERIFY_THREADS): applied, and a forgery dead-lettered', async (t) => {
  const rt = await startRuntime(t, world, { verifyThreads: 1 });
  const forged = await world.order(alice, { signer: await world.forger() });
  const good = await world.order(alice, { orderId: forged.headers.ce_subject! });
  await rt.publish(forged, good);
  await rt.applied(good);
  t.same(
    rt.deadLettered().map((m) => [m.headers.ce_id, m.headers[HEADER.dlqReason]]),
    [[forged.headers.ce_id, 'ERR_EVENT_PROOF_INVALID']],
  );
});

t.test('EVENT_PROOF_ALGORITHMS: an RSA producer key is refused by default, accepted when listed', async (t) => {
  const rsa = await makeWorld({ producerAlg: 'RS256' });
  // RS256 is not in the default list: the cnf key itself is refused, before any signature check.
  const strict = await startRuntime(t, rsa);
  const refused = await rsa.order(alice);
  await strict.publish(refused);
  await until(() => (strict.deadLettered().length > 0 ? true : undefined), 'the record dead-lettered');
  t.same(
    strict.deadLettered().map((m) => [m.headers.ce_id, m.headers[HEADER.dlqReason]]),
    [[refused.headers.ce_id, 'ERR_EVENT_CNF_INVALID']],
  );
  // Listed: the same producer's events are applied, on the event loop and on a signature pool; a
  // forgery is still refused.
  for (const verifyThreads of [0, 1]) {
    const rt = await startRuntime(t, rsa, { proofAlgorithms: ['ES256', 'RS256'], verifyThreads });
    const good = await rsa.order(bob);
    const forged = await rsa.order(bob, { orderId: good.headers.ce_subject!, signer: await rsa.forger() });
    await rt.publish(forged, good);
    t.match(await rt.applied(good), { customer: bob.sub, basis: 'fresh' }, `applied (${verifyThreads} threads)`);
    t.same(
      rt.deadLettered().map((m) => [m.headers.ce_id, m.headers[HEADER.dlqReason]]),
      [[forged.headers.ce_id, 'ERR_EVENT_PROOF_INVALID']],
      `a forgery refused (${verifyThreads} threads)`,
    );
  }
});

t.test('a revoked message token is refused (deny list answers yes)', async (t) => {
  const token = await world.messageToken(alice, { jti: 'revoked-1' });
  const rt = await startRuntime(t, world, { denyList: { has: async (jti) => jti === 'revoked-1' } });
  const bad = await world.order(alice, { token });
  const next = await world.order(alice, { orderId: bad.headers.ce_subject! });
  await rt.publish(bad, next);
  await rt.applied(next);
  t.same(
    rt.deadLettered().map((m) => m.headers[HEADER.dlqReason]),
    ['ERR_TOKEN_REVOKED'],
  );
});

t.test('a database error rolls back the event id and retries the record', async (t) => {
  let calls = 0;
  const rt = await startRuntime(t, world, {
    apply: async (event, tx) => {
      calls += 1;
      await recordEffect(event, tx);
      if (calls === 1) throw Object.assign(new Error('connection reset'), { code: '08006' });
    },
  });
  const record = await world.order(alice);
  await rt.publish(record);
  await rt.applied(record);
  t.equal(calls, 2, 'applied again after the failed transaction (its claim was rolled back)');
  t.equal(await rt.processedCount(record.headers.ce_id!), 1);
  t.same(rt.deadLettered(), []);
});

t.test('a dead-letter topic that cannot be written keeps the record for a retry', async (t) => {
  let dlqFailures = 2;
  const wrapBus = (bus: EventBus): EventBus => ({
    ...bus,
    kind: bus.kind,
    ping: () => bus.ping(),
    close: () => bus.close(),
    consume: (options) => bus.consume(options),
    async producer() {
      const inner = await bus.producer();
      return {
        async send(topic, messages) {
          if (topic === DLQ && dlqFailures > 0) {
            dlqFailures -= 1;
            throw new Error('broker unavailable');
          }
          return inner.send(topic, messages);
        },
        disconnect: () => inner.disconnect(),
      };
    },
  });
  const rt = await startRuntime(t, world, { wrapBus });
  const bad = withHeaders(await world.order(alice), { [HEADER.messageToken]: undefined });
  const next = await world.order(alice, { orderId: bad.headers.ce_subject! });
  await rt.publish(bad, next);
  await rt.applied(next);
  t.equal(dlqFailures, 0);
  t.equal(rt.deadLettered().length, 1, 'dead-lettered once, after the retries');
  t.equal(metricValue(await rt.metrics(), 'gatehouse_events_refused_total', { consumer: 'shipping', reason: 'ERR_EVENT_TOKEN_MISSING' }), 1);
});

t.test('an expired message token with a valid replay grant is accepted under the policy and audited', async (t) => {
  const rt = await startRuntime(t, world);
  const token = await world.expiredMessageToken(bob, { jti: 'expired-jti-1' });
  const grant = await world.replayGrant({ jti: 'grant-jti-1', replay: { id: 'replay-7' } });
  const record = await world.order(bob, { token, grant });
  await rt.publish(record);
  const row = await rt.applied(record);
  t.match(row, { customer: bob.sub, level: 'basic', basis: 'replay' });
  const { rows } = await rt.db.query('SELECT basis FROM processed_events WHERE event_id = $1', [record.headers.ce_id]);
  t.same(rows, [{ basis: 'replay' }]);
  const audited = rt.audit.find((r) => r.event === 'event.accepted_under_replay');
  t.match(audited, {
    outcome: 'success',
    consumer: 'shipping',
    event_id: record.headers.ce_id,
    type: 'orders.created',
    replay_client: 'sales',
    grant_id: 'grant-jti-1',
    replay_id: 'replay-7',
    token_jti: 'expired-jti-1',
    age_seconds: 60,
    duplicate: false,
  });
  t.equal(metricValue(await rt.metrics(), 'gatehouse_events_replayed_total', { consumer: 'shipping' }), 1);
  t.equal(metricValue(await rt.metrics(), 'gatehouse_events_processed_total', { consumer: 'shipping', basis: 'replay' }), 1);

  await t.test('replaying it again is deduplicated, and still audited', async (t) => {
    const again = await world.order(bob, {
      token,
      grant: await world.replayGrant(),
      attributes: { id: record.headers.ce_id!, time: record.headers.ce_time! },
      orderId: record.headers.ce_subject!,
    });
    await rt.publish(again);
    await until(
      async () => (metricValue(await rt.metrics(), 'gatehouse_events_deduplicated_total', { consumer: 'shipping' }) === 1 ? true : undefined),
      'the replayed duplicate',
    );
    t.equal(await rt.processedCount(record.headers.ce_id!), 1);
    t.equal(rt.audit.filter((r) => r.event === 'event.accepted_under_replay').length, 2);
    t.match(rt.audit.at(-1), { event: 'event.accepted_under_replay', duplicate: true });
  });
});
