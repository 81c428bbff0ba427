// The lookahead window (src/lookahead.ts): never more than `depth` ahead, each message prepared
// once, and refilled by halves so that work started together can be batched by whoever does it.
import t from 'tap';
import { Lookahead } from '../src/lookahead.ts';
import type { DeliveredMessage } from '../src/types.ts';

const messages: DeliveredMessage[] = Array.from({ length: 40 }, (_, i) => ({
  topic: 'orders',
  partition: 0,
  offset: String(i),
  timestamp: '0',
  key: null,
  value: Buffer.from(`m${i}`),
  headers: {},
}));

t.test('refills by halves, at most depth ahead, each message once', async (t) => {
  const started: number[] = [];
  const lookahead = new Lookahead<string>({
    lookahead: 8,
    prepare: async (message) => {
      started.push(Number(message.offset));
      return message.value.toString();
    },
  });
  const refills: number[] = [];
  for (let index = 0; index < messages.length; index++) {
    const before = started.length;
    t.equal(await lookahead.take(messages, index), `m${index}`, `message ${index} gets its own result`);
    t.ok(Math.max(...started) <= index + 8, `at most 8 ahead of ${index}`);
    if (started.length > before) refills.push(started.length - before);
  }
  t.same(started, messages.map((_, i) => i), 'each message prepared once, in order');
  t.equal(refills[0], 3, 'the first take starts a quarter of the window (and the message itself)');
  t.equal(refills[1], 7, 'the next take fills it');
  // (the last one is cut short by the end of the messages)
  // Exactly half: one batch for whoever does the work (a signature pool's message), not half + 1.
  t.ok(refills.slice(2, -1).every((n) => n === 4), `later refills start half a window at once (${refills.join(', ')})`);
});

t.test('reach: how far an adapter must read for the next take', async (t) => {
  t.equal(new Lookahead({}).reach(), 0, 'nothing without prepare');
  const lookahead = new Lookahead({ lookahead: 8, prepare: async () => 'x' });
  t.equal(lookahead.reach(), 2, 'an empty window: a quarter');
  lookahead.take(messages, 0);
  t.equal(lookahead.reach(), 8, 'half or less prepared: the whole window');
  lookahead.take(messages, 1);
  t.equal(lookahead.reach(), 0, 'more than half prepared: nothing more');
});

t.test('without prepare, nothing is prepared; a throwing prepare becomes a rejection', async (t) => {
  t.equal(new Lookahead({}).take(messages, 0), undefined);
  const failing = new Lookahead({
    prepare: () => {
      throw new Error('sync failure');
    },
  });
  await t.rejects(failing.take(messages, 0)!, /sync failure/);
  failing.clear(); // the other rejected ones are dropped without an unhandled rejection
});
