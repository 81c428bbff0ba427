import { Writable } from 'node:stream';
import { createLogger } from '@gatehouse/observability';
import { type LogEntry, logLevel } from 'kafkajs';
import t from 'tap';
import { kafkajsLevel, kafkajsLogCreator } from '../src/kafka-logger.ts';

function captured(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: kafkajsLogCreator(createLogger('test', level, sink))(logLevel.DEBUG), lines };
}

const entry = (level: logLevel, message: string, extra: Record<string, unknown> = {}): LogEntry => ({
  namespace: 'Connection',
  level,
  label: 'X',
  log: { timestamp: '2026-01-01T00:00:00.000Z', logger: 'kafkajs', message, ...extra },
});

t.test('kafkajs levels follow the pino level', async (t) => {
  t.equal(kafkajsLevel('trace'), logLevel.DEBUG);
  t.equal(kafkajsLevel('debug'), logLevel.DEBUG);
  t.equal(kafkajsLevel('info'), logLevel.INFO);
  t.equal(kafkajsLevel('warn'), logLevel.WARN);
  t.equal(kafkajsLevel('error'), logLevel.ERROR);
  t.equal(kafkajsLevel('fatal'), logLevel.ERROR);
  t.equal(kafkajsLevel('silent'), logLevel.NOTHING);
  t.equal(kafkajsLevel('unheard-of'), logLevel.INFO);
});

t.test('entries land at the matching pino level, tagged, without kafkajs timestamps', async (t) => {
  const { log, lines } = captured('debug');
  log(entry(logLevel.ERROR, 'e', { broker: 'b:1' }));
  log(entry(logLevel.WARN, 'w'));
  log(entry(logLevel.INFO, 'i'));
  log(entry(logLevel.DEBUG, 'd'));
  t.same(
    lines.map((line) => [line.level, line.msg]),
    [
      [50, 'e'],
      [40, 'w'],
      [30, 'i'],
      [20, 'd'],
    ],
  );
  t.match(lines[0], { lib: 'kafkajs', namespace: 'Connection', broker: 'b:1' });
  t.notOk('logger' in lines[0]! || 'timestamp' in lines[0]!, 'kafkajs bookkeeping fields dropped');
});

t.test('fields that could carry credentials are dropped', async (t) => {
  const { log, lines } = captured('debug');
  log(
    entry(logLevel.DEBUG, 'Request SaslAuthenticate', {
      sasl: { mechanism: 'plain', username: 'u', password: 'hunter2' },
      password: 'hunter2',
      saslPassword: 'hunter2',
      buffer: Buffer.from('\u0000u\u0000hunter2'),
      payload: 'hunter2',
      correlationId: 3,
    }),
  );
  t.equal(lines.length, 1);
  t.notMatch(JSON.stringify(lines[0]), /hunter2/, 'no credential in the line');
  t.equal(lines[0]!.correlationId, 3, 'other fields kept');
});

t.test('the bounded-retries warning is expected, so it is demoted to debug', async (t) => {
  const { log, lines } = captured('info');
  log(entry(logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees'));
  log(entry(logLevel.WARN, 'something else'));
  t.same(
    lines.map((line) => line.msg),
    ['something else'],
  );
});
