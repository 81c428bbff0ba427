import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createEmbeddedBus } from '../src/embedded.ts';
import { collect, groupId, keysPerPartition, message, PARTITIONS, refusal, runContract, text, waitFor } from './contract.ts';

const fastRetry = { initialMs: 10, maxMs: 50 };

t.test('embedded bus: the contract', async (t) => {
  runContract(t, async (t) => {
    const bus = createEmbeddedBus({ partitions: PARTITIONS, retry: fastRetry });
    t.teardown(() => bus.close());
    return {
      bus,
      async topic() {
        const name = `contract-${randomUUID()}`;
        await bus.ensureTopics([name]);
        return name;
      },
    };
  });
});

t.test('embedded bus: its own behaviour', async (t) => {
  t.test('refuses a partition count it cannot keep', async (t) => {
    for (const partitions of [0, -1, 1.5, 1001]) {
      t.throws(() => createEmbeddedBus({ partitions }), { name: 'EventBusError', code: 'ERR_BUS_OPTIONS' }, String(partitions));
    }
  });

  t.test('topics get 3 partitions by default; a null key is spread round-robin', async (t) => {
    const bus = createEmbeddedBus();
    t.teardown(() => bus.close());
    const producer = await bus.producer();
    await producer.send('spread', [message(null, 'a'), message(null, 'b'), message(null, 'c'), message(null, 'd')]);
    t.same(
      bus.messages('spread').map((m) => [m.partition, text(m)]),
      [[0, 'a'], [0, 'd'], [1, 'b'], [2, 'c']],
    );
  });

  t.test('keeps at most maxMessagesPerPartition; a new group starts at the oldest kept', async (t) => {
    const bus = createEmbeddedBus({ partitions: 1, maxMessagesPerPartition: 2 });
    t.teardown(() => bus.close());
    const producer = await bus.producer();
    await producer.send('capped', ['1', '2', '3'].map((value) => message('k', value)));
    t.same(bus.messages('capped').map((m) => [m.offset, text(m)]), [['1', '2'], ['2', '3']], 'offsets keep counting');
    const { seen, consumer } = await collect(bus, { groupId: groupId(), topics: ['capped'], fromBeginning: true });
    t.teardown(() => consumer.stop());
    await waitFor('the two kept', () => seen.length === 2);
    t.same(seen.map(text), ['2', '3']);
  });

  t.test('a failing partition does not hold back the others', async (t) => {
    const bus = createEmbeddedBus({ retry: fastRetry });
    t.teardown(() => bus.close());
    const [stuckKey, otherKey] = keysPerPartition(1);
    let otherHandled = false;
    const { seen, consumer } = await collect(bus, {
      groupId: groupId(),
      topics: ['independent'],
      fromBeginning: true,
      async handle(delivered) {
        // Fails until the other partition's message got through: a bus that blocked every
        // partition behind this one would never get there.
        if (delivered.key === stuckKey && !otherHandled) throw new Error('not yet');
        if (delivered.key === otherKey) otherHandled = true;
      },
    });
    t.teardown(() => consumer.stop());
    const producer = await bus.producer();
    await producer.send('independent', [message(stuckKey!, 'stuck')]);
    await producer.send('independent', [message(otherKey!, 'other')]);
    await waitFor('both', () => seen.length === 2);
    t.same(seen.map(text), ['other', 'stuck']);
  });

  t.test('stop() during a retry backoff returns without waiting out the backoff', async (t) => {
    const bus = createEmbeddedBus({ retry: { initialMs: 60_000, maxMs: 60_000 } });
    t.teardown(() => bus.close());
    let failures = 0;
    const consumer = await bus.consume({
      groupId: groupId(),
      topics: ['slow-retry'],
      fromBeginning: true,
      async handle() {
        failures += 1;
        throw new Error('down');
      },
    });
    const producer = await bus.producer();
    await producer.send('slow-retry', [message('k', 'v')]);
    await waitFor('the first failure', () => failures === 1);
    // Bounded by tap's timeout: a stop that waited out the minute-long backoff would fail there.
    await consumer.stop();
    t.equal(failures, 1, 'not retried after stop');
  });

  t.test('a throwing onError does not turn a retry into a skip', async (t) => {
    const bus = createEmbeddedBus({ retry: fastRetry });
    t.teardown(() => bus.close());
    let failuresLeft = 1;
    const { seen, consumer } = await collect(bus, {
      groupId: groupId(),
      topics: ['noisy'],
      fromBeginning: true,
      async handle() {
        if (failuresLeft-- > 0) throw new Error('once');
      },
      onError() {
        throw new Error('the error callback itself fails');
      },
    });
    t.teardown(() => consumer.stop());
    const producer = await bus.producer();
    await producer.send('noisy', [message('k', 'v')]);
    await waitFor('the retry', () => seen.length === 1);
    t.same(seen.map(text), ['v']);
  });

  t.test('handlers get copies: mutating one does not change another group\'s message', async (t) => {
    const bus = createEmbeddedBus();
    t.teardown(() => bus.close());
    const vandal = await collect(bus, {
      groupId: groupId(),
      topics: ['copies'],
      fromBeginning: true,
      async handle(delivered) {
        delivered.value.fill(0);
        delivered.headers.h = 'changed';
      },
    });
    await waitFor('vandal ready', () => true);
    const producer = await bus.producer();
    await producer.send('copies', [message('k', 'original', { h: 'kept' })]);
    await waitFor('vandal', () => vandal.seen.length === 1);
    const reader = await collect(bus, { groupId: groupId(), topics: ['copies'], fromBeginning: true });
    t.teardown(() => Promise.all([vandal.consumer.stop(), reader.consumer.stop()]));
    await waitFor('reader', () => reader.seen.length === 1);
    t.equal(text(reader.seen[0]!), 'original');
    t.same(reader.seen[0]!.headers, { h: 'kept' });
  });

  t.test('close() stops every consumer and refuses further use', async (t) => {
    const bus = createEmbeddedBus();
    const { seen } = await collect(bus, { groupId: groupId(), topics: ['closing'], fromBeginning: true });
    const producer = await bus.producer();
    await bus.close();
    await refusal(t, producer.send('closing', [message('k', 'v')]), 'ERR_BUS_CLOSED', 'send after close');
    await refusal(t, bus.ensureTopics(['closing']), 'ERR_BUS_CLOSED', 'ensureTopics after close');
    t.same(seen, []);
  });
});
