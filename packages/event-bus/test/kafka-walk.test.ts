import type { KafkaMessage } from 'kafkajs';
import t from 'tap';
import type { CommitOffset } from '../src/kafka-commits.ts';
import { type FetchedBatch, walkBatch, type WalkOptions } from '../src/kafka-walk.ts';

/** A fetched batch of `count` messages from offset 10, recording what the walk does with it. */
function fetched(count: number, overrides: Partial<FetchedBatch> = {}) {
  const messages = Array.from({ length: count }, (_, i) => ({
    offset: String(10 + i),
    key: Buffer.from('k'),
    value: Buffer.from(`v${i}`),
    timestamp: '0',
    attributes: 0,
    headers: { n: Buffer.from(String(i)) },
  })) as unknown as KafkaMessage[];
  const resolved: string[] = [];
  const batch: FetchedBatch = {
    batch: { topic: 'orders', partition: 1, messages },
    heartbeat: async () => {},
    isRunning: () => true,
    isStale: () => false,
    resolveOffset: (offset) => resolved.push(offset),
    ...overrides,
  };
  return { batch, resolved };
}

function walkOptions(overrides: Partial<WalkOptions<unknown>> = {}) {
  const commits: string[] = [];
  const handled: string[] = [];
  const options: WalkOptions<unknown> = {
    consumer: {},
    commit: async ({ offset }: CommitOffset) => {
      commits.push(offset);
      return true;
    },
    commitIntervalMs: 60_000,
    signal: new AbortController().signal,
    handle: async (message) => {
      handled.push(message.offset);
      return true;
    },
    ...overrides,
  };
  return { options, commits, handled };
}

t.test('a whole batch: every message handled and resolved in order, one commit at its end', async (t) => {
  const { batch, resolved } = fetched(5);
  const { options, commits, handled } = walkOptions();
  await walkBatch(batch, options);
  t.same(handled, ['10', '11', '12', '13', '14']);
  t.same(resolved, handled, 'each offset resolved once handled');
  t.same(commits, ['15'], 'one commit: the next offset to read');
});

t.test('the interval passes mid-batch: a commit then, and one at the end', async (t) => {
  let now = 0;
  const { batch } = fetched(4);
  const { options, commits } = walkOptions({
    commitIntervalMs: 100,
    now: () => now,
    handle: async (message) => {
      if (message.offset === '11') now += 100;
      return true;
    },
  });
  await walkBatch(batch, options);
  t.same(commits, ['12', '14']);
});

t.test('a rebalance (the heartbeat throws): what was handled is committed, then the error goes on', async (t) => {
  let heartbeats = 0;
  const rebalancing = Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), { type: 'REBALANCE_IN_PROGRESS' });
  const { batch, resolved } = fetched(5, {
    heartbeat: async () => {
      if (++heartbeats === 3) throw rebalancing;
    },
  });
  const { options, commits, handled } = walkOptions();
  await t.rejects(walkBatch(batch, options), rebalancing);
  t.same(handled, ['10', '11', '12'], 'nothing handled after the heartbeat that threw');
  t.same(resolved, ['10', '11', '12']);
  t.same(commits, ['13'], 'the three handled messages committed before the partition goes');
});

t.test('stop: the message in hand finishes, is committed, nothing more is handed out', async (t) => {
  const stopping = new AbortController();
  const { batch } = fetched(5);
  const { options, commits, handled } = walkOptions({
    signal: stopping.signal,
    handle: async (message) => {
      if (message.offset === '11') stopping.abort();
      handled.push(message.offset);
      return true;
    },
  });
  await walkBatch(batch, options);
  t.same(handled, ['10', '11']);
  t.same(commits, ['12']);
});

t.test('a message abandoned by stop (handle gives up) is not committed; those before it are', async (t) => {
  const { batch, resolved } = fetched(5);
  const { options, commits } = walkOptions({ handle: async (message) => message.offset !== '12' });
  await walkBatch(batch, options);
  t.same(resolved, ['10', '11'], 'the abandoned message is not resolved');
  t.same(commits, ['12'], 'committed up to it, not past it');
});

t.test('a seek (stale batch) or a stopped runner ends the walk where it is', async (t) => {
  for (const [what, overrides] of [
    ['stale', { isStale: () => true }],
    ['not running', { isRunning: () => false }],
  ] as const) {
    const { batch } = fetched(3, overrides);
    const { options, commits, handled } = walkOptions();
    await walkBatch(batch, options);
    t.same(handled, [], `${what}: nothing handled`);
    t.same(commits, [], `${what}: nothing committed`);
  }
});

t.test('messages reach handle in the contract form, prepared ahead with the lookahead', async (t) => {
  const { batch } = fetched(3);
  const prepared: string[] = [];
  const seen: Array<{ offset: string; value: string; header: string | undefined; prepared: unknown }> = [];
  const { options } = walkOptions({
    consumer: { prepare: async (message) => (prepared.push(message.offset), `p${message.offset}`), lookahead: 4 },
    handle: async (message, ready) => {
      seen.push({ offset: message.offset, value: message.value.toString(), header: message.headers.n, prepared: await ready });
      return true;
    },
  });
  await walkBatch(batch, options);
  t.same(prepared, ['10', '11', '12']);
  t.same(seen, [
    { offset: '10', value: 'v0', header: '0', prepared: 'p10' },
    { offset: '11', value: 'v1', header: '1', prepared: 'p11' },
    { offset: '12', value: 'v2', header: '2', prepared: 'p12' },
  ]);
});
