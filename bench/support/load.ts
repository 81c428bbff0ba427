/**
 * Load for the gateway bench: closed-loop runs with autocannon (fixed concurrency) and an
 * open-loop paced run (a fixed request rate, evenly spaced, for latency at a given load).
 */
import { Agent, request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { sleep } from './children.ts';

// autocannon (CommonJS, no bundled types): the slice of its programmatic API used here.
interface AutocannonRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}
/** Either `requests`, or one request given by `method`, `headers` and `body` (on `url` itself). */
export interface AutocannonOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  pipelining: number;
  /** Seconds; or `amount` requests in all. */
  duration?: number;
  amount?: number;
  timeout: number;
  requests?: AutocannonRequest[];
}
export interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (
  options: AutocannonOptions,
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

const requireCjs = createRequire(import.meta.url);
const autocannon = requireCjs('autocannon') as Autocannon;
export const autocannonVersion = (requireCjs('autocannon/package.json') as { version: string }).version;

export const REQUEST_TIMEOUT_S = 10;

export interface Target {
  base: string;
  path: string;
  headers: Record<string, string>;
  /**
   * Closed loop only: every `every`-th request is sent with these headers instead (a forged
   * token), so a run shows that the contender still checks tokens while under load.
   */
  forged?: { every: number; headers: Record<string, string> };
}

export interface LoadResult {
  seconds: number;
  ok: number;
  /** non-200 responses by status, and socket errors */
  statuses: Map<string, number>;
  socketErrors: number;
  latencyMicros: RecordableHistogram;
  /** Requests sent with Target.forged's headers (0 without). */
  forgedSent: number;
}

/**
 * X-Forwarded-For for each request, cycling through 10.0.0.0/16: the gateway route's `ip`
 * rate-limit policy then counts each address at well under its limits (see bench/README.md).
 */
export function forwardedFor(): () => string {
  let next = 0;
  return () => {
    const n = next;
    next = (next + 1) & 0xffff;
    return `10.0.${n >> 8}.${n & 0xff}`;
  };
}

/** One autocannon run as it reports it, with the count and latency (µs) of its 200 responses. */
export interface AutocannonRun {
  result: AutocannonResult;
  ok: number;
  latencyMicros: RecordableHistogram;
}

export function runAutocannon(options: AutocannonOptions): Promise<AutocannonRun> {
  const latencyMicros = createHistogram();
  let ok = 0;
  return new Promise((done, fail) => {
    const instance = autocannon(options, (error, result) => {
      if (error) fail(error);
      else done({ result, ok, latencyMicros });
    });
    instance.on('response', (_client, statusCode, _bytes, ms) => {
      if (Number(statusCode) !== 200) return;
      ok += 1;
      latencyMicros.record(Math.max(1, Math.round(ms * 1000)));
    });
  });
}

export async function closedLoop(target: Target, connections: number, seconds: number): Promise<LoadResult> {
  const address = forwardedFor();
  let sent = 0;
  let forgedSent = 0;
  const headersFor = (): Record<string, string> => {
    sent += 1;
    if (target.forged && sent % target.forged.every === 0) {
      forgedSent += 1;
      return target.forged.headers;
    }
    return target.headers;
  };
  const { result, ok, latencyMicros } = await runAutocannon({
    url: target.base,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: REQUEST_TIMEOUT_S,
    requests: [
      {
        method: 'GET',
        path: target.path,
        headers: target.headers,
        setupRequest: (request) => ({
          ...request,
          headers: { ...headersFor(), 'x-forwarded-for': address() },
        }),
      },
    ],
  });
  const statuses = new Map<string, number>();
  for (const [code, stat] of Object.entries(result.statusCodeStats)) {
    if (code !== '200') statuses.set(code, stat.count);
  }
  return {
    seconds: result.duration > 0 ? result.duration : seconds,
    ok,
    statuses,
    socketErrors: result.errors,
    latencyMicros,
    forgedSent,
  };
}

/**
 * Open loop: `rate` requests per second for `seconds`, each sent at its scheduled time (checked
 * every millisecond) whatever the earlier ones are doing, over keep-alive connections (at most
 * 64). Latency is from the send to the end of the response body, queueing for a connection
 * included. Bounded: it stops sending at the scheduled end and waits at most the request timeout.
 */
export async function paced(target: Target, rate: number, seconds: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const latencyMicros = createHistogram();
  const statuses = new Map<string, number>();
  const url = new URL(target.path, target.base);
  const address = forwardedFor();
  const total = Math.round(rate * seconds);
  let ok = 0;
  let socketErrors = 0;
  let pending = 0;
  let sent = 0;

  const send = () => {
    pending += 1;
    const started = performance.now();
    let settled = false;
    const settle = (status: string | undefined) => {
      if (settled) return;
      settled = true;
      pending -= 1;
      if (status === '200') {
        ok += 1;
        latencyMicros.record(Math.max(1, Math.round((performance.now() - started) * 1000)));
      } else if (status === undefined) socketErrors += 1;
      else statuses.set(status, (statuses.get(status) ?? 0) + 1);
    };
    const request = httpRequest(
      url,
      { agent, method: 'GET', headers: { ...target.headers, 'x-forwarded-for': address() } },
      (response) => {
        response.resume();
        response.on('end', () => settle(String(response.statusCode)));
        response.on('error', () => settle(undefined));
      },
    );
    request.setTimeout(REQUEST_TIMEOUT_S * 1000, () => request.destroy(new Error('timeout')));
    request.on('error', () => settle(undefined));
    request.end();
  };

  const start = performance.now();
  const sendUntil = start + seconds * 1000 + 1000;
  while (sent < total && performance.now() < sendUntil) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (sent < due) {
      send();
      sent += 1;
    }
    await sleep(1);
  }
  const elapsed = (performance.now() - start) / 1000;
  const waitUntil = performance.now() + REQUEST_TIMEOUT_S * 1000 + 1000;
  while (pending > 0 && performance.now() < waitUntil) await sleep(5);
  agent.destroy();
  return { seconds: elapsed, ok, statuses, socketErrors: socketErrors + pending, latencyMicros, forgedSent: 0 };
}

/**
 * `count` requests from one client address as fast as `connections` allow: for a rate-limited
 * route, the statuses show whether the limit is enforced (429s once the address's budget is spent).
 */
export async function burst(target: Target, address: string, connections: number, count: number): Promise<Map<string, number>> {
  const { result } = await runAutocannon({
    url: target.base,
    connections,
    pipelining: 1,
    amount: count,
    timeout: REQUEST_TIMEOUT_S,
    requests: [{ method: 'GET', path: target.path, headers: { ...target.headers, 'x-forwarded-for': address } }],
  });
  const statuses = new Map<string, number>();
  for (const [code, stat] of Object.entries(result.statusCodeStats)) statuses.set(code, stat.count);
  return statuses;
}
