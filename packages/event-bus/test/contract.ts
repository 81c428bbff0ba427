// The event bus contract (src/types.ts), one suite for every adapter: embedded.test.ts and
// kafka.test.ts run it against their bus. Each test uses its own topic and groups, so tests do
// not see each other's messages; waits are bounded (waitFor) and assert order, never durations.
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import { partitionForKey } from '../src/murmur2.ts';
import type { Consumer, ConsumerOptions, DeliveredMessage, EventBus, OutgoingMessage } from '../src/types.ts';

export interface BusUnderTest {
  bus: EventBus;
  /** A new topic with 3 partitions, used by this test only. */
  topic(): Promise<string>;
}

/** Makes a bus for one test and closes it at the test's teardown. */
export type BusFactory = (t: Test) => Promise<BusUnderTest>;

export const PARTITIONS = 3;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls until `done` holds; fails the test with `what` after timeoutMs (a bound, not an
 * assertion: generous, since a Kafka group may go through a rebalance or two on a busy machine).
 */
export async function waitFor(what: string, done: () => boolean, timeoutMs = 45_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export const message = (key: string | null, value: string, headers: Record<string, string> = {}): OutgoingMessage => ({
  key,
  value: Buffer.from(value),
  headers,
});

export const text = (delivered: DeliveredMessage) => delivered.value.toString('utf8');

export const groupId = () => `group-${randomUUID()}`;

/** A consumer that records what it was given. */
export async function collect(
  bus: EventBus,
  options: Omit<ConsumerOptions, 'handle'> & { handle?: ConsumerOptions['handle'] },
): Promise<{ seen: DeliveredMessage[]; consumer: Consumer }> {
  const seen: DeliveredMessage[] = [];
  const consumer = await bus.consume({
    ...options,
    async handle(delivered, prepared) {
      await options.handle?.(delivered, prepared);
      seen.push(delivered);
    },
  });
  return { seen, consumer };
}

/** Keys that land on each of the partitions (Kafka's murmur2 partitioner, same in both adapters). */
export function keysPerPartition(perPartition: number): string[] {
  const keys: string[] = [];
  const counts = new Array<number>(PARTITIONS).fill(0);
  for (let i = 0; keys.length < perPartition * PARTITIONS; i++) {
    const key = `order-${i}`;
    const partition = partitionForKey(key, PARTITIONS);
    if (counts[partition]! < perPartition) {
      counts[partition]! += 1;
      keys.push(key);
    }
  }
  return keys;
}

export async function refusal(t: Test, promise: Promise<unknown>, code: string, what: string) {
  await t.rejects(promise, { name: 'EventBusError', code }, what);
}

export function runContract(t: Test, make: BusFactory): void {
  t.test('delivers the key, the value bytes and the headers as sent', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const { seen, consumer } = await collect(bus, { groupId: groupId(), topics: [name], fromBeginning: true });
    t.teardown(() => consumer.stop());
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const producer = await bus.producer();
    await producer.send(name, [
      { key: 'order-1', value: everyByte, headers: { ce_id: 'e-1', 'content-type': 'application/json', note: 'é ✓ 🚀' } },
      { key: null, value: Buffer.alloc(0), headers: {} },
    ]);
    await waitFor('both messages', () => seen.length === 2);
    const first = seen.find((m) => m.key === 'order-1')!;
    t.ok(first.value.equals(everyByte), 'binary value intact');
    t.same(first.headers, { ce_id: 'e-1', 'content-type': 'application/json', note: 'é ✓ 🚀' });
    t.equal(first.topic, name);
    t.equal(first.partition, partitionForKey('order-1', PARTITIONS), "Kafka's default partitioner");
    t.equal(first.offset, '0', 'offsets start at "0"');
    t.match(first.timestamp, /^\d{13}$/);
    t.notOk(first.duplicateHeaders, 'no repeated headers');
    const empty = seen.find((m) => m.key === null)!;
    t.equal(empty.value.length, 0, 'an empty value stays empty');
    t.same(empty.headers, {});
  });

  t.test('same key, same partition, in send order', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const { seen, consumer } = await collect(bus, { groupId: groupId(), topics: [name], fromBeginning: true });
    t.teardown(() => consumer.stop());
    const producer = await bus.producer();
    for (let i = 0; i < 5; i++) {
      await producer.send(name, [message('order-7', `step-${i}`), message(`other-${i}`, `other-${i}`)]);
    }
    await waitFor('ten messages', () => seen.length === 10);
    const order = seen.filter((m) => m.key === 'order-7');
    t.same(order.map(text), ['step-0', 'step-1', 'step-2', 'step-3', 'step-4'], 'in send order');
    t.same(new Set(order.map((m) => m.partition)).size, 1, 'one partition');
    const offsets = order.map((m) => Number(m.offset));
    t.ok(offsets.every((offset, i) => i === 0 || offset > offsets[i - 1]!), `rising offsets (${offsets})`);
  });

  t.test('every group sees every message', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const a = await collect(bus, { groupId: groupId(), topics: [name], fromBeginning: true });
    const b = await collect(bus, { groupId: groupId(), topics: [name], fromBeginning: true });
    t.teardown(() => Promise.all([a.consumer.stop(), b.consumer.stop()]));
    const producer = await bus.producer();
    const keys = keysPerPartition(2);
    await producer.send(name, keys.map((key) => message(key, key)));
    await waitFor('both groups to see all', () => a.seen.length === keys.length && b.seen.length === keys.length);
    t.same(a.seen.map(text).sort(), [...keys].sort(), 'group a: each once');
    t.same(b.seen.map(text).sort(), [...keys].sort(), 'group b: each once');
  });

  t.test('a new group starts at the beginning with fromBeginning, else at the end', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const producer = await bus.producer();
    await producer.send(name, [message('order-1', 'before')]);
    const early = await collect(bus, { groupId: groupId(), topics: [name], fromBeginning: true });
    const late = await collect(bus, { groupId: groupId(), topics: [name] });
    t.teardown(() => Promise.all([early.consumer.stop(), late.consumer.stop()]));
    await producer.send(name, [message('order-1', 'after')]);
    await waitFor('both to see "after"', () => early.seen.length === 2 && late.seen.length >= 1);
    t.same(early.seen.map(text), ['before', 'after'], 'fromBeginning: everything');
    // Same key, same partition: had "before" been delivered, it would have come first.
    t.same(late.seen.map(text), ['after'], 'without: only what came after it joined');
  });

  t.test('a restarted member resumes after the last handled (committed) message', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const group = groupId();
    const producer = await bus.producer();
    const first = await collect(bus, { groupId: group, topics: [name], fromBeginning: true });
    await producer.send(name, [message('order-1', 'one'), message('order-1', 'two')]);
    await waitFor('two messages', () => first.seen.length === 2);
    await first.consumer.stop();
    await producer.send(name, [message('order-1', 'three')]);
    const second = await collect(bus, { groupId: group, topics: [name], fromBeginning: true });
    t.teardown(() => second.consumer.stop());
    await waitFor('"three"', () => second.seen.length >= 1);
    t.same(second.seen.map(text), ['three'], 'committed messages are not delivered again');
  });

  t.test('a message whose handle failed is not committed: the group gets it again', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const group = groupId();
    const producer = await bus.producer();
    const errors: string[] = [];
    const failing = await collect(bus, {
      groupId: group,
      topics: [name],
      fromBeginning: true,
      async handle(delivered) {
        if (text(delivered) === 'two') throw new Error('dependency down');
      },
      onError: (error, delivered) => errors.push(`${(error as Error).message}: ${text(delivered)}`),
    });
    await producer.send(name, [message('order-1', 'one'), message('order-1', 'two'), message('order-1', 'three')]);
    await waitFor('two failures', () => errors.length >= 2);
    await failing.consumer.stop();
    t.same(failing.seen.map(text), ['one'], 'nothing after the failing message was handled');
    t.same(errors.slice(0, 2), ['dependency down: two', 'dependency down: two'], 'onError sees each failure');
    const next = await collect(bus, { groupId: group, topics: [name], fromBeginning: true });
    t.teardown(() => next.consumer.stop());
    await waitFor('"two" and "three"', () => next.seen.length >= 2);
    t.same(next.seen.map(text), ['two', 'three'], 'the uncommitted message comes back, then the rest');
  });

  t.test('a throwing handle is retried, not skipped; later messages of its partition wait', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const events: string[] = [];
    let failuresLeft = 2;
    const { consumer } = await collect(bus, {
      groupId: groupId(),
      topics: [name],
      fromBeginning: true,
      async handle(delivered) {
        if (text(delivered) === 'one' && failuresLeft-- > 0) {
          events.push('one failed');
          throw new Error('try again');
        }
        events.push(`${text(delivered)} handled`);
      },
    });
    t.teardown(() => consumer.stop());
    const producer = await bus.producer();
    await producer.send(name, [message('order-1', 'one'), message('order-1', 'two'), message('order-1', 'three')]);
    await waitFor('three handled', () => events.includes('three handled'));
    t.same(events, ['one failed', 'one failed', 'one handled', 'two handled', 'three handled']);
  });

  t.test('stop() lets the message in hand finish and commit, then hands out nothing more', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const group = groupId();
    const events: string[] = [];
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const { consumer } = await collect(bus, {
      groupId: group,
      topics: [name],
      fromBeginning: true,
      async handle(delivered) {
        events.push(`${text(delivered)} started`);
        await gate;
        events.push(`${text(delivered)} finished`);
      },
    });
    const producer = await bus.producer();
    await producer.send(name, [message('order-1', 'one'), message('order-1', 'two')]);
    await waitFor('"one" in hand', () => events.includes('one started'));
    const stopped = consumer.stop().then(() => events.push('stopped'));
    await sleep(100);
    openGate();
    await stopped;
    t.same(events, ['one started', 'one finished', 'stopped'], 'stop waited for "one"; "two" was never handed out');
    const next = await collect(bus, { groupId: group, topics: [name], fromBeginning: true });
    t.teardown(() => next.consumer.stop());
    await waitFor('"two"', () => next.seen.length >= 1);
    t.same(next.seen.map(text), ['two'], '"one" was committed before stop resolved');
  });

  t.test('members of one group split the partitions; a leaving member hands its share over', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const group = groupId();
    const a = await collect(bus, { groupId: group, topics: [name], fromBeginning: true });
    const b = await collect(bus, { groupId: group, topics: [name], fromBeginning: true });
    t.teardown(() => b.consumer.stop());
    const producer = await bus.producer();
    const keys = keysPerPartition(2);
    await producer.send(name, keys.map((key) => message(key, `first ${key}`)));
    await waitFor('all handled once by the group', () => a.seen.length + b.seen.length >= keys.length);
    t.same([...a.seen, ...b.seen].map(text).sort(), keys.map((key) => `first ${key}`).sort(), 'each message once');
    t.ok(a.seen.length > 0 && b.seen.length > 0, `both members had partitions (${a.seen.length}, ${b.seen.length})`);
    const partitionsOf = (seen: DeliveredMessage[]) => new Set(seen.map((m) => m.partition));
    t.same([...partitionsOf(a.seen)].filter((p) => partitionsOf(b.seen).has(p)), [], 'no partition shared');

    await a.consumer.stop();
    const before = b.seen.length;
    await producer.send(name, keys.map((key) => message(key, `second ${key}`)));
    await waitFor('the remaining member to take everything', () => b.seen.length - before >= keys.length);
    t.same(b.seen.slice(before).map(text).sort(), keys.map((key) => `second ${key}`).sort());
  });

  t.test('prepare runs ahead of handle, at most `lookahead` messages, and its promise reaches handle', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const lookahead = 3;
    const prepared: number[] = [];
    const handled: Array<{ offset: number; preparedAhead: number; value: string | undefined }> = [];
    const values = ['a', 'b', 'c', 'd', 'e', 'f'];
    const { consumer } = await collect(bus, {
      groupId: groupId(),
      topics: [name],
      fromBeginning: true,
      lookahead,
      async prepare(delivered) {
        prepared.push(Number(delivered.offset));
        return text(delivered).toUpperCase();
      },
      async handle(delivered, ready) {
        const offset = Number(delivered.offset);
        // The first message waits for a later one to be prepared: shows prepare does not wait for handle.
        if (offset === 0) await waitFor('prepare to run ahead of the first message', () => prepared.length > 1);
        handled.push({ offset, preparedAhead: Math.max(...prepared), value: await (ready as Promise<string> | undefined) });
      },
    });
    t.teardown(() => consumer.stop());
    const producer = await bus.producer();
    // One send to one key: one partition, one record batch (a Kafka fetch holds all of them).
    await producer.send(name, values.map((value) => message('order-1', value)));
    await waitFor('every message handled', () => handled.length >= values.length);
    t.same(prepared, [0, 1, 2, 3, 4, 5], 'each message prepared once, in offset order');
    t.same(handled.map((h) => h.value), ['A', 'B', 'C', 'D', 'E', 'F'], "handle got its own message's prepared result");
    for (const h of handled) {
      t.ok(h.preparedAhead <= h.offset + lookahead, `offset ${h.offset}: prepared up to ${h.preparedAhead}, within the lookahead`);
    }
    t.ok(handled[0]!.preparedAhead >= 1, 'a later message was prepared while the first was handled');
    t.equal(Math.max(...handled.map((h) => h.preparedAhead - h.offset)), lookahead, 'the window reached the lookahead');
  });

  t.test('a rejected prepare reaches handle; the retry gets no prepared promise', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const attempts: string[] = [];
    const { seen, consumer } = await collect(bus, {
      groupId: groupId(),
      topics: [name],
      fromBeginning: true,
      async prepare(delivered) {
        if (text(delivered) === 'two') throw new Error('keys unavailable');
        return 'ok';
      },
      async handle(delivered, ready) {
        attempts.push(`${text(delivered)}: ${ready === undefined ? 'no prepared' : 'prepared'}`);
        // As a consumer does: the prepared result, or the work itself on a retry.
        if (ready !== undefined) await ready;
      },
    });
    t.teardown(() => consumer.stop());
    const producer = await bus.producer();
    await producer.send(name, [message('order-1', 'one'), message('order-1', 'two'), message('order-1', 'three')]);
    await waitFor('three handled', () => seen.length >= 3);
    t.same(attempts, ['one: prepared', 'two: prepared', 'two: no prepared', 'three: prepared']);
    t.same(seen.map(text), ['one', 'two', 'three'], 'the failed message was retried, nothing skipped');
  });

  t.test('ensureTopics and ping', async (t) => {
    const { bus } = await make(t);
    await bus.ensureTopics([`ensured-${randomUUID()}`]);
    t.equal(await bus.ping(), true, 'an open bus answers');
  });

  t.test('refusals', async (t) => {
    const { bus, topic } = await make(t);
    const name = await topic();
    const producer = await bus.producer();
    const bad = (value: unknown) => value as OutgoingMessage;
    await refusal(t, producer.send('bad topic!', [message('k', 'v')]), 'ERR_BUS_MESSAGE_INVALID', 'topic name');
    await refusal(t, producer.send(name, [bad({ key: 'k', value: 'not a buffer', headers: {} })]), 'ERR_BUS_MESSAGE_INVALID', 'value');
    await refusal(t, producer.send(name, [bad({ key: 7, value: Buffer.from('v'), headers: {} })]), 'ERR_BUS_MESSAGE_INVALID', 'key');
    await refusal(t, producer.send(name, [bad({ key: 'k', value: Buffer.from('v'), headers: { n: 1 } })]), 'ERR_BUS_MESSAGE_INVALID', 'header');
    await refusal(t, producer.send(name, [bad({ key: 'k', value: Buffer.from('v'), headers: null })]), 'ERR_BUS_MESSAGE_INVALID', 'headers');
    const handle = async () => {};
    await refusal(t, bus.consume({ groupId: '', topics: [name], handle }), 'ERR_BUS_OPTIONS', 'group id');
    await refusal(t, bus.consume({ groupId: groupId(), topics: [], handle }), 'ERR_BUS_OPTIONS', 'no topics');
    await refusal(t, bus.consume({ groupId: groupId(), topics: ['bad topic!'], handle }), 'ERR_BUS_MESSAGE_INVALID', 'bad topic');
    const prepare = 'not a function' as unknown as () => Promise<void>;
    await refusal(t, bus.consume({ groupId: groupId(), topics: [name], handle, prepare }), 'ERR_BUS_OPTIONS', 'prepare');
    await refusal(t, bus.consume({ groupId: groupId(), topics: [name], handle, lookahead: 0 }), 'ERR_BUS_OPTIONS', 'lookahead 0');
    await refusal(t, bus.consume({ groupId: groupId(), topics: [name], handle, lookahead: 1.5 }), 'ERR_BUS_OPTIONS', 'lookahead 1.5');
    await refusal(t, bus.ensureTopics(['bad topic!']), 'ERR_BUS_MESSAGE_INVALID', 'ensureTopics: bad topic');

    await producer.disconnect();
    await refusal(t, producer.send(name, [message('k', 'v')]), 'ERR_BUS_CLOSED', 'a disconnected producer');
    const open = await bus.producer();
    await bus.close();
    await refusal(t, open.send(name, [message('k', 'v')]), 'ERR_BUS_CLOSED', 'a producer of a closed bus');
    await refusal(t, bus.producer(), 'ERR_BUS_CLOSED', 'producer() after close');
    await refusal(t, bus.consume({ groupId: groupId(), topics: [name], handle }), 'ERR_BUS_CLOSED', 'consume() after close');
    t.equal(await bus.ping(), false, 'a closed bus does not answer');
  });
}
