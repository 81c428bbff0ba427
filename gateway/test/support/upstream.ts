/**
 * A small real upstream for gateway tests: a node:http server on a loopback port that answers
 * every request with what it received (method, url, headers, body size). A path containing
 * /slow is never answered, so the gateway's upstream timeout fires; teardown closes it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Test } from 'tap';

export interface Echo {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
}

export interface Upstream {
  url: string;
  port: number;
  /** Every request received, in order. */
  received: Echo[];
}

export async function startUpstream(t: Test): Promise<Upstream> {
  const received: Echo[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    let bodyBytes = 0;
    request.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
    });
    request.on('end', () => {
      const echo: Echo = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, bodyBytes };
      received.push(echo);
      if (echo.url.includes('/slow')) return; // held until teardown
      response.writeHead(200, {
        'content-type': 'application/json',
        server: 'upstream-test/1.0',
        'x-powered-by': 'upstream-test',
      });
      response.end(JSON.stringify(echo));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${port}`, port, received };
}
