// At LOG_LEVEL=info a proxied request writes one line: ours ('request completed', the path without
// its query, the route, the status), with the request id, never the token, and none of
// reply-from's own lines ("fetching from remote server", "response received").
import { Writable } from 'node:stream';
import t from 'tap';
import { loginWithCode } from '../../token-service/test/support/oauth.ts';
import { startTokenService } from '../../token-service/test/support/token-service.ts';
import { callGateway, route, startGateway } from './support/gateway.ts';
import { startUpstream } from './support/upstream.ts';

const lines: Array<Record<string, unknown>> = [];
const destination = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
    done();
  },
});

t.test('one request line per proxied request, without the query or the token', async (t) => {
  const ts = await startTokenService(t);
  const upstream = await startUpstream(t);
  const { url, gateway } = await startGateway(t, {
    issuer: ts.issuer,
    routes: [route(upstream.url)],
    env: { LOG_LEVEL: 'info' },
    logDestination: destination,
  });
  const token = (await loginWithCode(ts.issuer, 'alice')).tokens.access_token;
  const answer = await callGateway(url, '/api/orders/42?secret=q', { headers: { authorization: `Bearer ${token}` } });
  t.equal(answer.status, 200, 'proxied');
  const requestId = answer.headers.get('x-request-id');
  t.ok(requestId, 'a request id');
  await gateway.app.close(); // flushes the buffered log
  const mine = lines.filter((line) => line.reqId === requestId);
  t.same(
    mine.map((line) => line.msg),
    ['request completed'],
    'exactly one line for the request',
  );
  t.match(mine[0], { method: 'GET', path: '/api/orders/42', route: 'orders', status: 200, ms: Number });
  const text = JSON.stringify(lines);
  t.notOk(text.includes('secret=q'), 'no query string logged');
  t.notOk(text.includes(token), 'no token logged');
  t.notOk(/fetching from remote server|response received/.test(text), "no reply-from request lines");
});
