// inspectEvent (operator display, never trusted) and deadLetterRecord.
import t from 'tap';
import { deadLetterRecord, decodeEvent, digest, HEADER, inspectEvent } from '../src/index.ts';
import { makeWorld, messageToken, orderData, replayGrant, sealed, withHeaders } from './support/fixtures.ts';

const world = await makeWorld();

t.test('inspectEvent shows every part of a sealed record', async (t) => {
  const token = await messageToken(world);
  const grant = await replayGrant(world);
  const record = await sealed(world, { token, grant });
  const seen = inspectEvent(record);
  t.same(seen.errors, []);
  t.same(seen.attributes, decodeEvent(record).attributes);
  t.same(seen.data, orderData());
  t.match(seen.messageToken, {
    header: { typ: 'message+jwt', kid: 'issuer-1' },
    claims: { sub: 'user-1', scope: 'orders.created' },
  });
  t.match(seen.proof, {
    header: { typ: 'event-proof+jwt', kid: 'sales-1' },
    claims: { ath: digest(token), rgh: digest(grant) },
  });
  t.match(seen.replayGrant, { header: { typ: 'replay+jwt' }, claims: { client_id: 'sales' } });
});

t.test('inspectEvent never throws and lists what it could not read', async (t) => {
  const record = await sealed(world);
  const broken = withHeaders(
    { ...record, value: Buffer.from('{"a":1,"a":2}') },
    {
      ce_id: undefined,
      ce_time: undefined,
      [HEADER.messageToken]: 'not-a-jws',
      [HEADER.proof]: 'e30.bm90IGpzb24.c2ln',
    },
  );
  const seen = inspectEvent(broken);
  t.notOk('attributes' in seen, 'no attributes without ce_id and ce_time');
  t.notOk('messageToken' in seen);
  t.notOk('proof' in seen);
  t.equal(seen.data, '{"a":1,"a":2}', 'undecodable data is shown raw');
  t.match(seen.errors, [
    /ce_id, ce_time/,
    /duplicate/,
    new RegExp(`${HEADER.messageToken}: not a compact JWS`),
    new RegExp(`${HEADER.proof}: `),
  ]);
  t.equal(seen.errors.length, 4);

  const nothing = inspectEvent({
    key: null,
    value: 'x' as unknown as Buffer,
    headers: null as unknown as Record<string, string>,
  });
  t.match(nothing.errors, [/headers/, /attributes/, /data/]);
});

t.test('deadLetterRecord keeps the record and adds the verdict', async (t) => {
  const record = await sealed(world);
  const now = new Date('2025-10-09T12:00:00.000Z');
  const dead = deadLetterRecord(record, {
    reason: 'ERR_EVENT_DIGEST_MISMATCH',
    consumer: 'shipping',
    origin: 'orders/2/41',
    now,
  });
  t.equal(dead.key, record.key);
  t.equal(dead.value, record.value, 'the very bytes');
  t.same(dead.headers, {
    ...record.headers,
    'gatehouse-dlq-reason': 'ERR_EVENT_DIGEST_MISMATCH',
    'gatehouse-dlq-consumer': 'shipping',
    'gatehouse-dlq-origin': 'orders/2/41',
    'gatehouse-dlq-time': '2025-10-09T12:00:00.000Z',
  });
  t.notOk(HEADER.dlqReason in record.headers, 'the original record is not modified');

  const again = deadLetterRecord(dead, {
    reason: 'ERR_EVENT_EXPIRED',
    consumer: 'invoicing',
    origin: 'orders/0/1',
    now,
  });
  t.equal(again.headers[HEADER.dlqReason], 'ERR_EVENT_EXPIRED', 'the latest verdict wins');
  t.equal(again.headers[HEADER.dlqConsumer], 'invoicing');

  const info = { reason: 'R', consumer: 'c', origin: 'o', now };
  t.throws(() => deadLetterRecord(record, { ...info, reason: '' }), TypeError);
  t.throws(() => deadLetterRecord(record, { ...info, now: new Date('nope') }), TypeError);
});
