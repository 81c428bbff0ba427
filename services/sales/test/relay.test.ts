// The outbox relay against a fake producer, on the embedded database and on real PostgreSQL.
import { type Database, migrate, openDatabase } from '@gatehouse/sql';
import { postgresOrSkip } from '@gatehouse/sql/testing';
import t, { type Test } from 'tap';
import { MIGRATIONS } from '../src/migrations.ts';
import { createRelay, type RelayMetrics } from '../src/outbox/relay.ts';
import { countPending } from '../src/outbox/store.ts';
import { eventually, fakeProducer, storeOrder, testSigner } from './support/fixtures.ts';

const signer = await testSigner();
const backoff = { baseMs: 1, maxMs: 5 };

function recorder(): RelayMetrics & { published_: number; failed_: string[]; pending_: number[] } {
  const m = {
    published_: 0,
    failed_: [] as string[],
    pending_: [] as number[],
    published(n: number) {
      m.published_ += n;
    },
    failed(_n: number, reason: string) {
      m.failed_.push(reason);
    },
    pending(n: number) {
      m.pending_.push(n);
    },
  };
  return m;
}

async function outboxRows(db: Database) {
  const { rows } = await db.query<{ order_id: string; sent_at: Date | null; attempts: number; last_error: string | null; value: Buffer; headers: Record<string, string> }>(
    'SELECT order_id, sent_at, attempts, last_error, value, headers FROM outbox ORDER BY seq',
  );
  return rows;
}

function suite(t: Test, open: () => Promise<Database>) {
  let db: Database;
  t.beforeEach(async () => {
    db = await open();
    await migrate(db, MIGRATIONS);
  });
  t.afterEach(() => db.close());

  t.test('publishes in order, exactly the stored record, and marks rows sent', async (t) => {
    const orders = [await storeOrder(db, signer), await storeOrder(db, signer), await storeOrder(db, signer)];
    const producer = fakeProducer();
    const metrics = recorder();
    const relay = createRelay({ db, producer: async () => producer, batchSize: 2, pollMs: 1000, backoff, metrics });
    t.equal(await relay.flush(), 3, 'two passes of a batch of 2');
    t.same(producer.sent.map((s) => s.message.key), orders.map((o) => o.id), 'key = order id, in order');
    t.ok(producer.sent.every((s) => s.topic === 'orders'));
    const rows = await outboxRows(db);
    t.ok(rows.every((r) => r.sent_at instanceof Date), 'all marked sent');
    for (const [i, row] of rows.entries()) {
      t.ok(producer.sent[i]!.message.value.equals(row.value), 'value bytes as stored');
      t.same(producer.sent[i]!.message.headers, row.headers, 'headers as stored');
    }
    t.equal(await relay.flush(), 0, 'nothing twice');
    t.equal(producer.sent.length, 3);
    t.equal(metrics.published_, 3);
    t.equal(metrics.pending_.at(-1), 0, 'pending gauge back to 0');
  });

  t.test('a failing broker keeps every row, records the attempt, and loses nothing on recovery', async (t) => {
    const orders = [await storeOrder(db, signer), await storeOrder(db, signer)];
    const producer = fakeProducer();
    producer.failNext = 2;
    const metrics = recorder();
    const relay = createRelay({ db, producer: async () => producer, batchSize: 10, pollMs: 1000, backoff, metrics });
    await t.rejects(relay.flush(), { code: 'ERR_TEST_BROKER_DOWN' });
    t.equal(relay.failures, 1);
    await t.rejects(relay.flush(), { code: 'ERR_TEST_BROKER_DOWN' });
    t.equal(relay.failures, 2);
    let rows = await outboxRows(db);
    t.ok(rows.every((r) => r.sent_at === null), 'nothing marked sent');
    t.same(rows.map((r) => [r.attempts, r.last_error]), [
      [2, 'ERR_TEST_BROKER_DOWN'],
      [2, 'ERR_TEST_BROKER_DOWN'],
    ]);
    t.equal(await countPending(db), 2);
    t.same(metrics.failed_, ['ERR_TEST_BROKER_DOWN', 'ERR_TEST_BROKER_DOWN']);
    t.equal(metrics.pending_.at(-1), 2);

    t.equal(await relay.flush(), 2, 'recovered');
    t.equal(relay.failures, 0);
    t.same(producer.sent.map((s) => s.message.key), orders.map((o) => o.id));
    rows = await outboxRows(db);
    t.ok(rows.every((r) => r.sent_at !== null && r.last_error === null));
  });

  t.test('a failure mid-way keeps the later rows behind the failed one', async (t) => {
    const orders = [await storeOrder(db, signer), await storeOrder(db, signer, { topic: 'other' }), await storeOrder(db, signer)];
    const producer = fakeProducer();
    const relay = createRelay({ db, producer: async () => producer, batchSize: 10, pollMs: 1000, backoff });
    // Three topic runs (orders, other, orders): the first is sent, the second fails.
    let calls = 0;
    const send = producer.send.bind(producer);
    producer.send = async (topic, messages) => {
      calls += 1;
      if (calls === 2) throw Object.assign(new Error('down'), { code: 'ERR_TEST_BROKER_DOWN' });
      return send(topic, messages);
    };
    await t.rejects(relay.flush());
    const rows = await outboxRows(db);
    t.same(rows.map((r) => r.sent_at !== null), [true, false, false], 'the third waits for the second');
    t.same(rows.map((r) => r.attempts), [0, 1, 1]);
    t.equal(await relay.flush(), 2);
    t.same(producer.sent.map((s) => [s.topic, s.message.key]), [
      ['orders', orders[0]!.id],
      ['other', orders[1]!.id],
      ['orders', orders[2]!.id],
    ]);
  });

  t.test('a producer that cannot connect is asked again', async (t) => {
    await storeOrder(db, signer);
    const producer = fakeProducer();
    let connects = 0;
    const relay = createRelay({
      db,
      producer: async () => {
        connects += 1;
        if (connects === 1) throw Object.assign(new Error('no broker'), { code: 'ERR_TEST_CONNECT' });
        return producer;
      },
      batchSize: 10,
      pollMs: 1000,
      backoff,
    });
    await t.rejects(relay.flush(), { code: 'ERR_TEST_CONNECT' });
    t.equal(await relay.flush(), 1);
    t.equal(connects, 2);
  });

  t.test('polling retries with backoff until the broker is back', async (t) => {
    const orders = [await storeOrder(db, signer), await storeOrder(db, signer)];
    const producer = fakeProducer();
    producer.failNext = 3;
    const metrics = recorder();
    const relay = createRelay({ db, producer: async () => producer, batchSize: 10, pollMs: 5, backoff, metrics });
    relay.start();
    t.teardown(() => relay.stop());
    await eventually(async () => (await countPending(db)) === 0, 'outbox drained');
    t.same(producer.sent.map((s) => s.message.key), orders.map((o) => o.id));
    t.equal(metrics.failed_.length, 3, 'three failed passes, then success');
    t.equal(relay.failures, 0);
    const later = await storeOrder(db, signer);
    relay.notify();
    await eventually(() => producer.sent.length === 3, 'new row published');
    t.equal(producer.sent[2]!.message.key, later.id);
  });

  t.test('stop waits for the pass in progress', async (t) => {
    await storeOrder(db, signer);
    const producer = fakeProducer();
    let release!: () => void;
    producer.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const relay = createRelay({ db, producer: async () => producer, batchSize: 10, pollMs: 1000, backoff });
    relay.start();
    await eventually(() => producer.sendCalls === 1, 'send started');
    const stopped = relay.stop();
    release();
    await stopped;
    t.equal(await countPending(db), 0, 'the acknowledged row was marked before stop resolved');
  });
}

t.test('embedded', (t) => {
  suite(t, () => openDatabase());
  t.end();
});

const server = await postgresOrSkip(t);
if (server) {
  t.test('postgres', (t) => {
    suite(t, async () => openDatabase({ url: await server.createDatabase() }));
    t.end();
  });

  t.test('postgres: two relays on one database never publish a row twice', async (t) => {
    const url = await server.createDatabase();
    const a = await openDatabase({ url });
    const b = await openDatabase({ url });
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    await migrate(a, MIGRATIONS);
    for (let i = 0; i < 3; i++) await storeOrder(a, signer);
    const pa = fakeProducer();
    const pb = fakeProducer();
    let release!: () => void;
    pa.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const relayA = createRelay({ db: a, producer: async () => pa, batchSize: 10, pollMs: 1000, backoff });
    const relayB = createRelay({ db: b, producer: async () => pb, batchSize: 10, pollMs: 1000, backoff });
    const flushA = relayA.flush();
    await eventually(() => pa.sendCalls === 1, 'A is sending, holding its rows');
    t.equal(await relayB.flush(), 0, 'B finds the relay lock taken');
    release();
    t.equal(await flushA, 3);
    t.equal(await relayB.flush(), 0, 'all sent by A');
    t.equal(pb.sent.length, 0);
    t.equal(pa.sent.length, 3);
  });
}
