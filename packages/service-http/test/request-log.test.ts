// installRequestLog: the request id echoed, one log line per request with the path, never the query.
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import t from 'tap';
import { installRequestLog } from '../src/index.ts';

t.test('echoes the request id and logs the path without the query string', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const app = Fastify({
    logger: { level: 'info', stream },
    disableRequestLogging: true,
    genReqId: (request) => String(request.headers['x-request-id'] ?? 'generated'),
  });
  installRequestLog(app);
  app.get('/orders', async () => ({ ok: true }));
  t.teardown(() => app.close());
  const response = await app.inject({ url: '/orders?token=secret-value', headers: { 'x-request-id': 'req-7' } });
  t.equal(response.headers['x-request-id'], 'req-7');
  const completed = lines.filter((line) => line.msg === 'request completed');
  t.equal(completed.length, 1);
  t.match(completed[0], { method: 'GET', path: '/orders', status: 200, reqId: 'req-7' });
  t.notOk(JSON.stringify(lines).includes('secret-value'), 'the query string is not logged');
});
