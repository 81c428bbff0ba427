// kafkajs 2.2.4's request queue rescheduled itself every 1 ms forever (kafka-request-queue.ts).
// With the fix: an idle queue schedules nothing, a queue with pending requests or a throttle still
// does; and an idle consumer on a real broker (librdkafka's mock) stops polling.
import { createLogger } from '@gatehouse/observability';
import t from 'tap';
import { createKafkaBus } from '../src/kafka.ts';
import { kafkajsRequestQueue, PATCHED_KAFKAJS_VERSION, patchKafkajsRequestQueue } from '../src/kafka-request-queue.ts';
import { groupId, sleep } from './contract.ts';
import { kafkaBrokerOrSkip } from './support/kafka-broker.ts';

type Queue = {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  canSendSocketRequestImmediately(): boolean;
};

const RequestQueue = kafkajsRequestQueue() as unknown as new (options: Record<string, unknown>) => Queue;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const queue = (): Queue =>
  new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, clientId: 'test', broker: 'b:1', logger: silent, isConnected: () => true });

t.test('the fix is in place for the kafkajs version in the lockfile', async (t) => {
  t.equal(patchKafkajsRequestQueue(), true, `kafkajs ${PATCHED_KAFKAJS_VERSION}: patched (re-check the fix if this fails)`);
  t.equal(patchKafkajsRequestQueue(), true, 'applying it again is a no-op');
});

t.test('an idle queue schedules no check', async (t) => {
  patchKafkajsRequestQueue();
  const idle = queue();
  idle.checkPendingRequests(); // what kafkajs runs after every response
  t.equal(idle.throttleCheckTimeoutId, null, 'no timer: nothing pending, no throttle');
});

t.test('a queue with pending requests or a throttle still schedules its check', async (t) => {
  patchKafkajsRequestQueue();
  const waiting = queue();
  waiting.canSendSocketRequestImmediately = () => false; // too many in flight
  waiting.pending.push({});
  waiting.checkPendingRequests();
  t.not(waiting.throttleCheckTimeoutId, null, 'a request waits: its check is scheduled');
  clearTimeout(waiting.throttleCheckTimeoutId!);

  const throttled = queue();
  throttled.throttledUntil = Date.now() + 60_000;
  throttled.checkPendingRequests();
  t.not(throttled.throttleCheckTimeoutId, null, 'throttled by the broker: a check at its end');
  clearTimeout(throttled.throttleCheckTimeoutId!);
});

const broker = await kafkaBrokerOrSkip(t);
if (broker) {
  t.test('an idle consumer stops polling its connections', async (t) => {
    const bus = createKafkaBus({ brokers: broker.brokers, clientId: 'request-queue-test', logger: createLogger('test', 'silent') });
    t.teardown(() => bus.close());
    const topic = `idle-${groupId()}`;
    const consumer = await bus.consume({ groupId: groupId(), topics: [topic], fromBeginning: true, handle: async () => {} });
    t.teardown(() => consumer.stop());
    const { prototype } = RequestQueue as unknown as { prototype: Queue };
    const check = prototype.checkPendingRequests;
    let checks = 0;
    prototype.checkPendingRequests = function (this: Queue) {
      checks++;
      check.call(this);
    };
    t.teardown(() => {
      prototype.checkPendingRequests = check;
    });
    await sleep(1000);
    // Responses (fetch long-polls, heartbeats) still run a check each: a few dozen a second.
    // Without the fix each connection ran one every 1 ms, ~1,600 a second here.
    t.ok(checks < 200, `${checks} checks of the request queues in 1 s of idleness`);
  });
}
