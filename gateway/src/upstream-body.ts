/**
 * How an upstream's answer body reaches the client (reply-from's onResponse). By default
 * reply-from hands Fastify the body as a stream, and Fastify sends a stream through two
 * end-of-stream watchers, a header-by-header copy and a pipe. Most API answers are small and
 * declare their length, so those are read whole and sent as one Buffer on Fastify's ordinary path
 * (same hooks, same headers): some 20 µs of CPU less per request on the bench machine
 * (bench/README.md, "Round 3"). Everything else streams as before: no
 * Content-Length (chunked, server-sent events), more than BUFFERED_BODY_MAX_BYTES, HEAD, and the
 * statuses that carry no body.
 *
 * A buffered body that fails half-way (the upstream resets, or stalls past the body timeout) can
 * still be answered with a clean 502/504 problem, where a streamed one can only be cut off.
 * The gateway (proxy.ts) registers sendUpstreamBody as reply-from's onResponse.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/** At most this many bytes held per request (128 upstream connections: 8 MiB at worst). */
export const BUFFERED_BODY_MAX_BYTES = 64 * 1024;

/** What reply-from passes to onResponse for an HTTP/1.1 upstream (undici). */
export interface UpstreamAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  stream: Readable;
}

/** The declared length when the body may be buffered; undefined when it must stream. */
export function bufferableLength(method: string, answer: Pick<UpstreamAnswer, 'statusCode' | 'headers'>): number | undefined {
  const { statusCode, headers } = answer;
  if (method === 'HEAD' || statusCode < 200 || statusCode === 204 || statusCode === 304) return undefined;
  // Fastify gives a Buffer without a type application/octet-stream; a stream is sent untyped.
  if (headers['content-type'] === undefined) return undefined;
  const declared = headers['content-length'];
  if (typeof declared !== 'string' || !/^\d{1,9}$/.test(declared)) return undefined;
  const length = Number(declared);
  return length <= BUFFERED_BODY_MAX_BYTES ? length : undefined;
}

/**
 * Sends the upstream's body: buffered when bufferableLength allows, else as reply-from would.
 * `failed` answers a body that broke before it was complete (nothing has been sent by then).
 */
export function sendUpstreamBody(reply: FastifyReply, answer: UpstreamAnswer, failed: (error: Error) => void): void {
  if (bufferableLength(reply.request.method, answer) === undefined) {
    reply.send(answer.stream);
    return;
  }
  readWhole(answer.stream, (error, body) => {
    if (error === undefined) {
      reply.send(body);
      return;
    }
    // The upstream's headers (copied by reply-from) describe a body that never came: not ours to
    // send with a problem. What the gateway set under the same names goes back on: the route's
    // security headers and the request id (our services echo it). Others (an upstream's own
    // RateLimit-* or CORS headers) stay off this one answer.
    for (const name of Object.keys(answer.headers)) reply.removeHeader(name);
    reply.applySecurityHeaders?.();
    reply.header('x-request-id', reply.request.id);
    failed(error);
  });
}

/** Callbacks rather than an async iterator: one chunk is the usual case, a promise per chunk is not free. */
function readWhole(stream: Readable, done: (error: Error | undefined, body?: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let settled = false;
  const settle = (error: Error | undefined, body?: Buffer) => {
    if (settled) return;
    settled = true;
    done(error, body);
  };
  stream.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    bytes += chunk.length;
  });
  stream.once('error', (error: Error) => settle(error));
  stream.once('end', () => settle(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes)));
  // Destroyed without an error (never seen from undici, but then nothing else would answer).
  stream.once('close', () => settle(new Error('upstream body closed before its end')));
}
