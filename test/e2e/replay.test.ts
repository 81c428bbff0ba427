// End to end: expiry and replay. Message tokens live 8 s here, so the test can outlive them: an
// expired token alone is refused; the admin's replay re-publishes the stored events with a fresh
// replay grant, and the consumers accept them under their policy (audited) and dedupe them.
import { HEADER } from '@gatehouse/events';
import t from 'tap';
import { type E2eStack, eventually, startE2eStack } from './support/stack.ts';

const MESSAGE_TOKEN_TTL = 8;
/** The validators' clock tolerance (5 s) on top of exp. */
const EXPIRED_AFTER_MS = (MESSAGE_TOKEN_TTL + 5 + 1) * 1000;

t.test('expiry and replay through the whole stack', async (t) => {
  const stack = (await startE2eStack(t, { env: { MESSAGE_TOKEN_TTL: String(MESSAGE_TOKEN_TTL) } })) as E2eStack;
  const [alice, admin] = (await Promise.all([stack.login('alice'), stack.login('admin')])) as [string, string];

  const dead = async (consumer: string, eventId: string, reason: string) =>
    eventually(async () => {
      const all = await stack.records(`orders.${consumer}.dlq`, Number.POSITIVE_INFINITY, 400);
      return all.find((r) => r.headers.ce_id === eventId && r.headers[HEADER.dlqReason] === reason);
    }, `${consumer} to dead-letter ${eventId} as ${reason}`);

  const created = await stack.api(alice, 'POST', '/api/orders', { items: [{ sku: 'GH-KEY-002', quantity: 1 }] });
  const orderId = created.body.id as string;
  const placedAt = Date.now();
  await eventually(async () => {
    const { body } = await stack.api(alice, 'GET', `/api/invoices?order_id=${orderId}`);
    return body.invoices?.[0];
  }, 'the invoice');
  await eventually(async () => {
    const { body } = await stack.api(alice, 'GET', `/api/shipments?order_id=${orderId}`);
    return body.shipments?.[0];
  }, 'the shipment');
  const [original] = (await stack.records('orders', Number.POSITIVE_INFINITY, 1000)).filter((r) => r.key === orderId);
  t.ok(original, 'the order event is on the topic');
  const claims = JSON.parse(
    Buffer.from(original!.headers[HEADER.messageToken]!.split('.')[1]!, 'base64url').toString('utf8'),
  );
  t.equal(claims.exp - claims.iat, MESSAGE_TOKEN_TTL, 'a message token of the configured lifetime');
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, placedAt + EXPIRED_AFTER_MS - Date.now())));

  await t.test('an expired message token without a replay grant is refused', async (t) => {
    await stack.produce('orders', { key: original!.key, value: original!.value, headers: original!.headers });
    for (const consumer of ['shipping', 'invoicing']) {
      const letter = await dead(consumer, original!.headers.ce_id!, 'ERR_EVENT_EXPIRED');
      t.ok(letter, `${consumer}: ERR_EVENT_EXPIRED`);
    }
  });

  await t.test('a non-admin cannot replay', async (t) => {
    const refused = await stack.api(alice, 'POST', '/api/admin/replay', {});
    t.equal(refused.status, 403);
    t.match(String(refused.headers.get('content-type')), /application\/problem\+json/);
  });

  await t.test('admin replays all orders: accepted under the replay policy, audited, deduplicated', async (t) => {
    const replay = await stack.api(admin, 'POST', '/api/admin/replay', {});
    t.equal(replay.status, 200, JSON.stringify(replay.body));
    t.ok(replay.body.replayed >= 1, `replayed ${replay.body.replayed}`);
    for (const consumer of ['shipping', 'invoicing'] as const) {
      const record = await eventually(
        async () =>
          stack.audit[consumer].find(
            (r) => r.event === 'event.accepted_under_replay' && JSON.stringify(r).includes(original!.headers.ce_id!),
          ),
        `${consumer}'s audit record of the replay`,
      );
      t.ok(record, `${consumer} audited the acceptance under the policy`);
    }
    const shipments = await stack.api(alice, 'GET', `/api/shipments?order_id=${orderId}`);
    t.equal(shipments.body.shipments.length, 1, 'deduplicated: still one shipment');
    const invoices = await stack.api(alice, 'GET', `/api/invoices?order_id=${orderId}`);
    t.equal(invoices.body.invoices.length, 1, 'deduplicated: still one invoice');
    const metrics = await (await fetch(`${stack.urls.shipping}/metrics`)).text();
    t.match(metrics, /gatehouse_events_replayed_total\{[^}]*\} [1-9]/);
  });

  await t.test('a replay grant lifted onto another record is refused', async (t) => {
    const replayed = (await stack.records('orders', Number.POSITIVE_INFINITY, 1000)).find(
      (r) => r.key === orderId && r.headers[HEADER.replayGrant] !== undefined,
    );
    t.ok(replayed, 'the replayed record carries its grant');
    // The original record (expired token, its proof names no grant) with the replay's grant.
    const headers = { ...original!.headers, [HEADER.replayGrant]: replayed!.headers[HEADER.replayGrant]! };
    await stack.produce('orders', { key: original!.key, value: original!.value, headers });
    const letter = await dead('shipping', original!.headers.ce_id!, 'ERR_EVENT_REPLAY_UNBOUND');
    t.ok(letter, 'ERR_EVENT_REPLAY_UNBOUND');
  });
});
