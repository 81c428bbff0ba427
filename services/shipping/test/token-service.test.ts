// The whole trust chain with a REAL token service: users log in (code + PKCE), the gateway's
// exchange mints message tokens bound to the sales key, events are sealed with sales' private key,
// and the shipping consumer verifies them against the token service's published JWKS.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createProofSigner, type EventRecord, HEADER, type ProofSigner, sealEvent } from '@gatehouse/events';
import t from 'tap';
import { client, decodeJwt, exchange, loginWithCode, oauthClient } from '../../../token-service/test/support/oauth.ts';
import { startTokenService } from '../../../token-service/test/support/token-service.ts';
import { startService } from '../../consumer/test/support/service.ts';
import { until } from '../../consumer/test/support/world.ts';
import { buildShippingService } from '../src/app.ts';
import { loadShippingConfig } from '../src/config.ts';
import type { Shipment } from '../src/repository.ts';

const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const CONSUMERS = ['urn:gatehouse:consumer:shipping', 'urn:gatehouse:consumer:invoicing'];

const ts = await startTokenService(t);
const gateway = await oauthClient(ts.issuer, 'gateway');
const sales = await oauthClient(ts.issuer, 'sales');
const signer: ProofSigner = await createProofSigner(
  JSON.parse(await readFile(join(ts.dir, 'clients', 'sales.private.jwk.json'), 'utf8')),
);
const login = async (user: string) =>
  (await loginWithCode(ts.issuer, user, undefined, 'openid orders:write shipments:read')).tokens.access_token;
const users = { alice: await login('alice'), bob: await login('bob') };

/** What the gateway does for POST /api/orders, then what sales does with the order. */
async function placeOrder(accessToken: string, options: { lifetime?: number; grant?: string } = {}): Promise<EventRecord> {
  const message = await exchange(gateway, {
    subject_token: accessToken,
    subject_token_type: ACCESS,
    audience: CONSUMERS,
    producer: 'sales',
    ...(options.lifetime ? { requested_lifetime: String(options.lifetime) } : {}),
  });
  const claims = decodeJwt(accessToken).payload;
  const orderId = randomUUID();
  const items = [{ sku: 'TEA-100', quantity: 4, unit_price: 450 }];
  return sealEvent(signer, {
    attributes: {
      id: randomUUID(),
      type: 'orders.created',
      source: 'urn:gatehouse:sales',
      time: new Date().toISOString(),
      subject: orderId,
    },
    data: {
      order_id: orderId,
      org_id: claims.org_id,
      customer: claims.sub,
      subscription_level: claims.subscription_level,
      items,
      total: 1800,
      currency: 'EUR',
      created_at: new Date().toISOString(),
    },
    messageToken: message.access_token,
    ...(options.grant ? { replayGrant: options.grant } : {}),
  });
}

const shipmentOf = (s: Awaited<ReturnType<typeof startShipping>>, record: EventRecord) =>
  until(async () => {
    const { rows } = await s.service.db.query<Shipment>('SELECT * FROM shipments WHERE order_id = $1', [record.headers.ce_subject]);
    return rows[0];
  }, 'the shipment');

const startShipping = (now?: () => number) =>
  startService(t, loadShippingConfig, buildShippingService, {
    env: { TOKEN_SERVICE_URL: ts.issuer },
    now: now ?? Date.now,
  });

t.test('orders placed by real users are shipped by their subscription', async (t) => {
  const s = await startShipping();
  const aliceOrder = await placeOrder(users.alice);
  const bobOrder = await placeOrder(users.bob);
  await s.publish(aliceOrder, bobOrder);
  t.match(await shipmentOf(s, aliceOrder), { method: 'express', org_id: 'acme', items_count: 4 });
  t.match(await shipmentOf(s, bobOrder), { method: 'standard', org_id: 'acme' });

  const mine = await s.get('/shipments', users.alice);
  t.equal(mine.status, 200);
  t.same(
    (mine.body.shipments as Shipment[]).map((x) => x.order_id),
    [aliceOrder.headers.ce_subject],
    "alice's access token reads alice's shipment only",
  );
  t.same(s.bus.messages('orders.shipping.dlq'), []);
});

t.test('a real replay grant lets an expired message token through, audited', async (t) => {
  // The consumer's clock runs two minutes ahead: a 60 s message token has expired; the grant
  // (5 min) has not.
  const s = await startShipping(() => Date.now() + 120_000);
  const grant = (await client.clientCredentialsGrant(sales, { scope: 'events:replay' })).access_token;
  const replayed = await placeOrder(users.bob, { lifetime: 60, grant });
  const expired = await placeOrder(users.alice, { lifetime: 60 });
  await s.publish(replayed, expired);
  t.match(await shipmentOf(s, replayed), { method: 'standard' });
  const audited = await until(() => s.audit.find((r) => r.event === 'event.accepted_under_replay'), 'the replay audit');
  t.match(audited, {
    event_id: replayed.headers.ce_id,
    replay_client: 'sales',
    grant_id: decodeJwt(grant).payload.jti,
    token_jti: decodeJwt(replayed.headers[HEADER.messageToken]!).payload.jti,
  });
  const letter = await until(
    () => s.bus.messages('orders.shipping.dlq').find((m) => m.headers.ce_id === expired.headers.ce_id),
    'the expired record dead-lettered',
  );
  t.equal(letter.headers[HEADER.dlqReason], 'ERR_EVENT_EXPIRED', 'no grant: strict');
});
