// `npm run events -- tail orders | head -n 1`: the reader goes away after a line. The tail ends
// with exit 0, as `tail -f` ends on a closed pipe: no crash report, and no following the topic
// for nobody. A real process (the pipe is the point) on the Kafka mock broker.
import { spawn } from 'node:child_process';
import { createKafkaBus } from '@gatehouse/event-bus';
import { kafkaBrokerOrSkip } from '@gatehouse/event-bus/testing';
import { createLogger } from '@gatehouse/observability';
import t from 'tap';

const CLI = new URL('../scripts/events.ts', import.meta.url).pathname;

t.setTimeout(90_000);

t.test('a closed output pipe ends `events tail`: exit 0, no EPIPE crash', async (t) => {
  const broker = await kafkaBrokerOrSkip(t);
  if (!broker) return;
  await broker.createTopic('orders', 1);
  const bus = createKafkaBus({ brokers: broker.brokers, clientId: 'pipe-test', logger: createLogger('event-bus', 'silent') });
  t.teardown(() => bus.close());
  const producer = await bus.producer();
  await producer.send('orders', [{ key: 'order-1', value: Buffer.from('{"not":"an event"}'), headers: {} }]);
  await producer.disconnect();

  const child = spawn(process.execPath, [CLI, 'tail', 'orders'], {
    // Nothing answers on port 9: the verdicts are "unavailable", and the record is still printed.
    env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: broker.brokers.join(','), TOKEN_SERVICE_URL: 'http://127.0.0.1:9' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy(); // the reader is gone before the first line
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const ended = await new Promise<number | null | 'still running'>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('still running');
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  t.equal(ended, 0, `the tail ended by itself with exit 0 (stderr: ${stderr.slice(0, 500)})`);
  t.notMatch(stderr, /EPIPE/, 'no crash report');
});
