// The deferred per-request logger: nothing is built while nothing is logged, and what is logged
// is the line Fastify's own child logger would have written (same bindings, same redaction).
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@gatehouse/observability';
import t from 'tap';
import { deferredChildLogger } from '../src/request-logger.ts';

function sink() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines };
}

const flushed = () => new Promise((resolve) => setImmediate(resolve));

t.test('a disabled level builds no child and writes nothing', async (t) => {
  const { stream, lines } = sink();
  const parent = createLogger('gateway', 'warn', stream as never);
  let children = 0;
  const child = parent.child.bind(parent);
  parent.child = ((...args: Parameters<typeof child>) => {
    children += 1;
    return child(...args);
  }) as typeof parent.child;
  const log = deferredChildLogger(parent, { reqId: 'r1' }, {});
  log.info('hello');
  log.debug({ a: 1 }, 'x');
  t.equal(log.level, 'warn');
  await flushed();
  t.equal(children, 0, 'no pino child made');
  t.same(lines, []);
});

t.test('an enabled level writes the eager child line, redaction included', async (t) => {
  const eager = sink();
  const deferred = sink();
  const parentA = createLogger('gateway', 'info', eager.stream as never);
  const parentB = createLogger('gateway', 'info', deferred.stream as never);
  const entry = { token: 'secret-token', nested: { password: 'p' }, status: 200 };
  parentA.child({ reqId: 'r2' }, {}).warn(entry, 'upstream request failed');
  const log = deferredChildLogger(parentB, { reqId: 'r2' }, {});
  log.warn(entry, 'upstream request failed');
  log.info('second');
  await flushed();
  const strip = (line: Record<string, unknown>) => ({ ...line, time: undefined, pid: undefined });
  t.equal(deferred.lines.length, 2);
  t.same(strip(deferred.lines[0]!), strip(eager.lines[0]!));
  t.equal(deferred.lines[0]!.token, '[redacted]');
  t.same(deferred.lines[0]!.nested, { password: '[redacted]' });
  t.equal(deferred.lines[1]!.reqId, 'r2');
  // What the deferred logger has beyond FastifyBaseLogger: pino's level query and bindings.
  const pinoLike = log as unknown as Logger;
  t.ok(pinoLike.isLevelEnabled('info'));
  t.same((log.child({ x: 1 }) as unknown as Logger).bindings(), { component: 'gateway', reqId: 'r2', x: 1 });
});

t.test('a route log level makes the child at once', async (t) => {
  const { stream, lines } = sink();
  const parent = createLogger('gateway', 'warn', stream as never);
  const log = deferredChildLogger(parent, { reqId: 'r3' }, { level: 'debug' });
  log.debug('visible');
  await flushed();
  t.equal(lines.length, 1);
  t.equal(lines[0]!.reqId, 'r3');
});
