/**
 * The upstream's answer body (gateway/src/upstream-body.ts): small answers with a declared length
 * are read whole and sent as one Buffer, the rest streams. Both must reach the client unchanged;
 * a buffered body that breaks is answered 502/504 as a problem, without the upstream's headers;
 * a streamed body still streams (the first chunk arrives before the upstream has finished).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import t from 'tap';
import { startTokenService } from '../../token-service/test/support/token-service.ts';
import { BUFFERED_BODY_MAX_BYTES, bufferableLength } from '../src/upstream-body.ts';
import { callGateway, route, startGateway } from './support/gateway.ts';

t.test('bufferableLength: only a small declared body of a status that has one', async (t) => {
  const json = { 'content-type': 'application/json' };
  const of = (method: string, statusCode: number, headers: Record<string, string>) =>
    bufferableLength(method, { statusCode, headers });
  t.equal(of('GET', 200, { ...json, 'content-length': '61' }), 61);
  t.equal(of('POST', 201, { ...json, 'content-length': '0' }), 0);
  t.equal(of('GET', 404, { ...json, 'content-length': String(BUFFERED_BODY_MAX_BYTES) }), BUFFERED_BODY_MAX_BYTES);
  t.equal(of('GET', 200, { ...json, 'content-length': String(BUFFERED_BODY_MAX_BYTES + 1) }), undefined, 'too large');
  t.equal(of('GET', 200, json), undefined, 'no length: chunked, streams');
  for (const bad of ['', ' 5', '5 ', '-1', '1e3', '0x10', '1.5', '9999999999'])
    t.equal(of('GET', 200, { ...json, 'content-length': bad }), undefined, `content-length ${JSON.stringify(bad)}`);
  t.equal(of('GET', 200, { 'content-length': '5' }), undefined, 'no content-type');
  t.equal(of('HEAD', 200, { ...json, 'content-length': '61' }), undefined, 'HEAD has no body');
  for (const status of [101, 204, 304]) t.equal(of('GET', status, { ...json, 'content-length': '0' }), undefined, `${status}`);
});

// The upstream: one path per kind of answer.
const small = JSON.stringify({ id: 'ord_1', status: 'shipped' });
const large = randomBytes(256 * 1024);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
let releaseChunked: () => void = () => {};
const chunkedReleased = new Promise<void>((resolve) => {
  releaseChunked = resolve;
});
let chunkedEnded = false;

const answers: Record<string, (response: ServerResponse) => void> = {
  '/things/small': (response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(small), etag: '"v1"' });
    response.end(small);
  },
  '/things/untyped': (response) => {
    response.writeHead(200, { 'content-length': 5 });
    response.end('hello');
  },
  '/things/large': (response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': large.length });
    response.end(large);
  },
  '/things/chunked': (response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('first\n');
    void chunkedReleased.then(() => {
      chunkedEnded = true;
      response.end('second\n');
    });
  },
  '/things/empty': (response) => {
    response.writeHead(204, { etag: '"e"' });
    response.end();
  },
  '/things/short': (response) => {
    const echo = { 'x-request-id': String(response.req.headers['x-request-id']), 'x-content-type-options': 'nosniff' };
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': 100, etag: '"short"', ...echo });
    response.write('{"partial"', () => response.socket?.destroy());
  },
  '/things/stalled': (response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': 100, etag: '"stalled"' });
    response.write('{"partial"'); // and nothing more until teardown
  },
};

const sockets = new Set<Socket>();
const upstream = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const answer = answers[request.url ?? ''];
    if (answer) answer(response);
    else response.writeHead(404, { 'content-length': 0 }).end();
  });
});
upstream.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const upstreamPort = (upstream.address() as { port: number }).port;
t.teardown(async () => {
  releaseChunked();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

const ts = await startTokenService(t);
const { url } = await startGateway(t, {
  issuer: ts.issuer,
  routes: [
    route(`http://127.0.0.1:${upstreamPort}`, {
      name: 'things',
      prefix: '/api/things',
      rewritePrefix: '/things',
      methods: ['GET', 'HEAD'],
      auth: 'none',
      scopes: [],
    }),
  ],
  env: { UPSTREAM_TIMEOUT_MS: '300' },
});

t.test('a small answer arrives as the upstream sent it, with the gateway headers', async (t) => {
  const r = await callGateway(url, '/api/things/small');
  t.equal(r.status, 200);
  t.equal(r.text, small);
  t.equal(r.headers.get('content-type'), 'application/json');
  t.equal(r.headers.get('content-length'), String(Buffer.byteLength(small)));
  t.equal(r.headers.get('etag'), '"v1"');
  t.equal(r.headers.get('x-content-type-options'), 'nosniff');
  t.ok(r.headers.get('x-request-id'));
});

t.test('HEAD keeps the declared length; 204 has no body', async (t) => {
  const head = await fetch(`${url}/api/things/small`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('content-length'), String(Buffer.byteLength(small)));
  t.equal(await head.text(), '');
  const empty = await callGateway(url, '/api/things/empty');
  t.equal(empty.status, 204);
  t.equal(empty.text, '');
  t.equal(empty.headers.get('etag'), '"e"');
});

t.test('an answer without a type gets none from the gateway', async (t) => {
  const r = await callGateway(url, '/api/things/untyped');
  t.equal(r.status, 200);
  t.equal(r.text, 'hello');
  t.equal(r.headers.get('content-type'), null);
});

t.test('a large answer streams through byte for byte', async (t) => {
  const r = await fetch(`${url}/api/things/large`);
  t.equal(r.status, 200);
  t.equal(r.headers.get('content-length'), String(large.length));
  const body = new Uint8Array(await r.arrayBuffer());
  t.equal(body.length, large.length);
  t.equal(sha256(body), sha256(large));
});

t.test('a chunked answer streams: the first chunk arrives before the upstream ends', async (t) => {
  const { first, rest } = await new Promise<{ first: string; rest: Promise<string> }>((resolve, reject) => {
    const request = httpRequest(`${url}/api/things/chunked`, (response) => {
      response.setEncoding('utf8');
      let text = '';
      const rest = new Promise<string>((done) => response.on('end', () => done(text)));
      response.once('data', (chunk: string) => {
        text += chunk;
        response.on('data', (more: string) => {
          text += more;
        });
        resolve({ first: chunk, rest });
      });
    });
    request.on('error', reject);
    request.end();
  });
  t.equal(first, 'first\n');
  t.notOk(chunkedEnded, 'the upstream had not finished when the first chunk arrived');
  releaseChunked();
  t.equal(await rest, 'first\nsecond\n');
});

t.test('a declared body cut short: 502 problem, none of the upstream headers', async (t) => {
  const r = await callGateway(url, '/api/things/short');
  t.equal(r.status, 502);
  t.equal(r.headers.get('content-type'), 'application/problem+json');
  t.match(r.body, { status: 502, code: 'ERR_UPSTREAM_UNAVAILABLE' });
  t.equal(r.headers.get('etag'), null);
  t.equal(r.headers.get('x-content-type-options'), 'nosniff', 'security headers still set, also one the upstream sent too');
  t.ok(r.headers.get('content-security-policy'), 'and the others');
  t.equal(r.headers.get('x-request-id'), r.body.requestId, 'the request id too, though the upstream echoed it');
  t.notMatch(r.text, /partial/);
});

t.test('a declared body that stalls: 504 problem after the upstream timeout', async (t) => {
  const r = await callGateway(url, '/api/things/stalled');
  t.equal(r.status, 504);
  t.equal(r.headers.get('content-type'), 'application/problem+json');
  t.match(r.body, { status: 504, code: 'ERR_UPSTREAM_TIMEOUT' });
  t.equal(r.headers.get('etag'), null);
});
