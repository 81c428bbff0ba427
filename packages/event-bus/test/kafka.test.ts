import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '@gatehouse/observability';
import { Kafka, logLevel } from 'kafkajs';
import t, { type Test } from 'tap';
import { createKafkaBus, type KafkaBusOptions } from '../src/kafka.ts';
import type { OutgoingMessage, Producer } from '../src/types.ts';
import { collect, groupId, message, PARTITIONS, runContract, sleep, text, waitFor } from './contract.ts';
import { kafkaBrokerOrSkip } from './support/kafka-broker.ts';

/** A pino logger whose lines the test can read. */
function capturedLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('event-bus-test', 'debug', sink), lines };
}

/** A loopback port nothing listens on: a dead broker. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What the outbox relay does: try again until the broker takes it. */
async function sendEventually(producer: Producer, topic: string, messages: OutgoingMessage[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      await producer.send(topic, messages);
      return attempt;
    } catch (error) {
      if (attempt >= 10) throw error;
      await sleep(500);
    }
  }
}

t.test('kafka bus: refused options', async (t) => {
  const base = { brokers: ['127.0.0.1:9092'], clientId: 'x' };
  const refused = { name: 'EventBusError', code: 'ERR_BUS_OPTIONS' };
  t.throws(() => createKafkaBus({ ...base, brokers: [] }), refused, 'no brokers');
  t.throws(() => createKafkaBus({ ...base, brokers: ['no-port'] }), refused, 'not host:port');
  t.throws(() => createKafkaBus({ ...base, clientId: '' }), refused, 'no client id');
  t.throws(() => createKafkaBus({ ...base, partitions: 0 }), refused, 'no partitions');
  t.throws(() => createKafkaBus({ ...base, retry: { retries: 0 } }), refused, 'an idempotent producer must retry');
  for (const commitIntervalMs of [-1, 1.5, Number.NaN]) {
    t.throws(() => createKafkaBus({ ...base, consumer: { commitIntervalMs } }), { ...refused, message: /commitIntervalMs/ }, `commitIntervalMs ${commitIntervalMs}`);
  }
  const gssapi = { mechanism: 'gssapi', username: 'u', password: 'p' } as unknown as KafkaBusOptions['sasl'];
  t.throws(() => createKafkaBus({ ...base, sasl: gssapi }), refused, 'unsupported SASL mechanism');
});

t.test('kafka bus: a dead broker fails fast, with a code', async (t) => {
  const port = await deadPort();
  const bus = createKafkaBus({
    brokers: [`127.0.0.1:${port}`],
    clientId: 'dead',
    logger: createLogger('event-bus-test', 'silent'),
    retry: { retries: 1 },
  });
  t.teardown(() => bus.close());
  t.equal(await bus.ping(), false, 'ping answers false');
  await t.rejects(bus.producer(), { name: /KafkaJS/ }, 'producer() rejects with the transport error');
  await t.rejects(
    bus.consume({ groupId: groupId(), topics: ['orders'], handle: async () => {} }),
    { name: 'EventBusError', code: 'ERR_BUS_CONSUMER_START' },
    'consume() rejects',
  );
  await bus.ensureTopics(['orders']);
  t.pass('ensureTopics only logs');
});

const broker = await kafkaBrokerOrSkip(t);
if (broker) {
  const options = (extra: Partial<KafkaBusOptions> = {}): KafkaBusOptions => ({
    brokers: broker.brokers,
    clientId: 'event-bus-test',
    logger: createLogger('event-bus-test', 'silent'),
    handlerRetry: { initialMs: 20, maxMs: 100 },
    // The shortest session a real broker allows (group.min.session.timeout.ms): quick rebalances.
    consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
    ...extra,
  });
  const newTopic = async () => {
    const name = `contract-${randomUUID()}`;
    await broker.createTopic(name, PARTITIONS);
    return name;
  };

  // Subtests run side by side: most of their time is the mock's 3 s group-join delay, not work.
  t.test('kafka bus: the contract', { jobs: 6 }, async (t) => {
    runContract(t, async (t) => {
      const bus = createKafkaBus(options());
      t.teardown(() => bus.close());
      return { bus, topic: newTopic };
    });
  });

  t.test('kafka bus: broker down and back up', async (t) => {
    const name = `outage-${randomUUID()}`;
    await broker.createTopic(name, PARTITIONS);
    const bus = createKafkaBus({
      brokers: broker.brokers,
      clientId: 'outage',
      logger: createLogger('event-bus-test', 'silent'),
      consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
    });
    t.teardown(() => bus.close());
    const group = groupId();
    const { seen, consumer } = await collect(bus, { groupId: group, topics: [name], fromBeginning: true });
    t.teardown(() => consumer.stop());
    const producer = await bus.producer();
    await producer.send(name, [message('order-1', 'before')]);
    await waitFor('"before"', () => seen.length === 1);
    // Its commit follows handle: once it is in, "before" cannot come again after the outage.
    const admin = new Kafka({ clientId: 'observer', brokers: broker.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    let committed = false;
    for (let attempt = 0; attempt < 200 && !committed; attempt++) {
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [name] });
      committed = offsets!.partitions.some((partition) => partition.offset === '1');
      if (!committed) await sleep(50);
    }
    await admin.disconnect();
    t.ok(committed, '"before" is committed');

    await broker.down();
    t.teardown(() => broker.up());
    await t.rejects(producer.send(name, [message('order-1', 'during')]), { name: /KafkaJS/ }, 'send rejects while down');
    t.equal(await bus.ping(), false, 'not ready while down');

    await broker.up();
    // The same producer and consumer carry on: no restart of the bus.
    await sendEventually(producer, name, [message('order-1', 'during')]);
    await sendEventually(producer, name, [message('order-1', 'after')]);
    await waitFor('the consumer to catch up', () => seen.length >= 3, 60_000);
    t.same(seen.map(text), ['before', 'during', 'after'], 'nothing lost, nothing doubled, in order');
    t.equal(await bus.ping(), true, 'ready again');
  });

  /** The group's committed offset of each partition of `topic` ('-1': none). */
  const committed = async (group: string, topic: string): Promise<string[]> => {
    const admin = new Kafka({ clientId: 'observer', brokers: broker.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return [...offsets!.partitions].sort((a, b) => a.partition - b.partition).map((p) => p.offset);
    } finally {
      await admin.disconnect();
    }
  };
  /** Polls the committed offsets until one partition's is `offset`. */
  const committedEventually = async (group: string, topic: string, offset: string): Promise<boolean> => {
    for (let attempt = 0; attempt < 100; attempt++) {
      if ((await committed(group, topic)).includes(offset)) return true;
      await sleep(50);
    }
    return false;
  };

  /** A bus whose consumers commit by `commitIntervalMs`, closed with the test. */
  const busCommittingEvery = (t: Test, commitIntervalMs: number) => {
    const bus = createKafkaBus(options({ consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, commitIntervalMs } }));
    t.teardown(() => bus.close());
    return bus;
  };

  // Five messages, one send, one key: one record batch on one partition, so one fetched batch.
  const fiveInOneBatch = ['one', 'two', 'three', 'four', 'five'].map((value) => message('order-1', value));

  for (const [intervalMs, expected] of [
    [60_000, '-1'],
    [0, '3'],
  ] as const) {
    t.test(`kafka bus: commitIntervalMs ${intervalMs}, a batch's fourth message in hand: committed ${expected}`, async (t) => {
      const name = await newTopic();
      const bus = busCommittingEvery(t, intervalMs);
      const group = groupId();
      let openGate: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      const started: string[] = [];
      const { seen, consumer } = await collect(bus, {
        groupId: group,
        topics: [name],
        fromBeginning: true,
        async handle(delivered) {
          started.push(text(delivered));
          if (text(delivered) === 'four') await gate;
        },
      });
      t.teardown(() => consumer.stop());
      const producer = await bus.producer();
      await producer.send(name, fiveInOneBatch);
      await waitFor('"four" in hand', () => started.includes('four'));
      // A commit after "three" would have resolved before "four" was handed out.
      const during = await committed(group, name);
      t.ok(during.includes(expected) && during.every((offset) => offset === expected || offset === '-1'), `committed while "four" is in hand: ${during.join(',')}`);
      openGate();
      await waitFor('all five', () => seen.length === 5);
      t.ok(await committedEventually(group, name, '5'), 'the end of the batch commits all five');
    });
  }

  t.test('kafka bus: before a failing handle is retried, the messages handled before it are committed', async (t) => {
    const name = await newTopic();
    const bus = busCommittingEvery(t, 60_000);
    const group = groupId();
    const errors: string[] = [];
    const { seen, consumer } = await collect(bus, {
      groupId: group,
      topics: [name],
      fromBeginning: true,
      async handle(delivered) {
        if (text(delivered) === 'three') throw new Error('dependency down');
      },
      onError: (error) => errors.push((error as Error).message),
    });
    t.teardown(() => consumer.stop());
    const producer = await bus.producer();
    await producer.send(name, fiveInOneBatch);
    await waitFor('a retry of "three"', () => errors.length >= 2);
    t.same(seen.map(text), ['one', 'two'], 'nothing after "three" was handled');
    t.ok(await committedEventually(group, name, '2'), '"one" and "two" are committed while "three" is retried');
  });

  t.test('kafka bus: records from other writers (repeated headers, null value)', async (t) => {
    const name = `foreign-${randomUUID()}`;
    await broker.createTopic(name, PARTITIONS);
    const bus = createKafkaBus(options());
    t.teardown(() => bus.close());
    const { seen, consumer } = await collect(bus, { groupId: groupId(), topics: [name], fromBeginning: true });
    t.teardown(() => consumer.stop());
    const raw = new Kafka({ clientId: 'foreign', brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await raw.connect();
    t.teardown(() => raw.disconnect());
    await raw.send({
      topic: name,
      messages: [{ key: 'k', value: null, headers: { 'gatehouse-message-token': ['first', 'second'], single: 'x' } }],
    });
    await waitFor('the record', () => seen.length === 1);
    const [record] = seen;
    t.same(record!.headers, { 'gatehouse-message-token': 'second', single: 'x' }, 'the last value');
    t.same(record!.duplicateHeaders, ['gatehouse-message-token'], 'the repeat is named');
    t.equal(record!.value.length, 0, 'a null value arrives empty');
  });

  t.test('kafka bus: ensureTopics tolerates a broker without CreateTopics', async (t) => {
    const { logger, lines } = capturedLogger();
    const bus = createKafkaBus(options({ logger }));
    t.teardown(() => bus.close());
    await bus.ensureTopics([`made-${randomUUID()}`]);
    t.ok(lines.some((line) => line.includes('could not create topics')), 'the refusal is logged, not thrown');
  });

  t.test('kafka bus: configured SASL credentials stay out of the log, even at debug level', async (t) => {
    const { logger, lines } = capturedLogger();
    const password = `pw-${randomUUID()}`;
    const bus = createKafkaBus(
      options({ logger, sasl: { mechanism: 'plain', username: 'gatehouse', password }, retry: { retries: 1 } }),
    );
    t.teardown(() => bus.close());
    // The mock has no SASL (the handshake fails): this covers what kafkajs logs about connecting
    // with SASL configured; kafka-logger.test.ts covers fields that would carry credentials.
    await t.rejects(bus.producer());
    t.ok(lines.length > 0, 'kafkajs logged');
    t.notOk(lines.some((line) => line.includes(password)), 'no line carries the password');
  });
}
