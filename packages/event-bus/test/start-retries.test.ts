// A protocol error while joining a group is retried a few times; anything else fails at once.
import { createLogger } from '@gatehouse/observability';
import t from 'tap';
import { EventBusError } from '../src/errors.ts';
import { startWithRetries } from '../src/kafka.ts';

const logger = createLogger('test', 'silent');
const joinFailed = () =>
  new EventBusError('ERR_BUS_CONSUMER_START', 'consumer g could not start', {
    cause: Object.assign(new Error('invalid request'), { name: 'KafkaJSProtocolError' }),
  });

t.test('a protocol error at start is retried, then the start succeeds', async (t) => {
  let calls = 0;
  const started = await startWithRetries(
    async () => {
      calls += 1;
      if (calls < 3) throw joinFailed();
      return 'consumer';
    },
    logger,
    'g',
  );
  t.equal(started, 'consumer');
  t.equal(calls, 3);
});

t.test('a protocol error that persists fails after three attempts', async (t) => {
  let calls = 0;
  await t.rejects(
    startWithRetries(async () => {
      calls += 1;
      throw joinFailed();
    }, logger, 'g'),
    { code: 'ERR_BUS_CONSUMER_START' },
  );
  t.equal(calls, 3);
});

t.test('any other failure is not retried', async (t) => {
  let calls = 0;
  await t.rejects(
    startWithRetries(async () => {
      calls += 1;
      throw new EventBusError('ERR_BUS_CONSUMER_START', 'did not join in time');
    }, logger, 'g'),
    { code: 'ERR_BUS_CONSUMER_START' },
  );
  t.equal(calls, 1);
});
