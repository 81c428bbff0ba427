/**
 * The one upstream of the gateway bench (a child process): node:http on 127.0.0.1:BENCH_PORT,
 * answering every request 200 with a small JSON body once the request body is read.
 */
import { createServer } from 'node:http';
import { exitWithParent, required } from './children.ts';

const port = Number(required('BENCH_PORT'));
const body = JSON.stringify({ id: 'ord_123', status: 'shipped', items: 2, total: '42.00' });
const length = String(Buffer.byteLength(body));

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': length });
    response.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
exitWithParent(
  () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }),
);
