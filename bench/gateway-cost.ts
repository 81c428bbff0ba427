/**
 * `node bench/gateway-cost.ts`: where the gateway's CPU goes, per request. A fixed number of
 * requests to the bare proxy and to Gatehouse with parts of its work turned off, each in its own
 * child process; the child's CPU time (/proc) divided by the requests. CPU per request changes
 * far less than requests/s when other processes share the machine, and the differences between
 * the variants price each part: the base pipeline, bearer validation (+ audit), the Redis rate
 * limit, the info-level request log.
 *
 * Rounds alternate between the variants; the report is the minimum and the median over rounds
 * (the minimum is the least disturbed). Same upstream, token, concurrency and X-Forwarded-For
 * cycling as bench/gateway.ts.
 *
 * Environment: BENCH_COST_REQUESTS (10000 per round), BENCH_COST_ROUNDS (5), BENCH_CONCURRENCY (16).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loginWithCode } from '../token-service/test/support/oauth.ts';
import { type RedisServerHandle, startRedisServer } from '../token-service/test/support/redis-server.ts';
import { freePort } from '../token-service/test/support/token-service.ts';
import {
  BenchError,
  type Child,
  installCleanup,
  startChild,
  startNodeChild,
  tokenServiceEnv,
  trackTempDir,
  untrackTempDir,
  waitReady,
} from './support/children.ts';
import { processCpuSeconds } from './support/cpu.ts';
import { forwardedFor, runAutocannon } from './support/load.ts';
import { int, numberSetting, runBench, table } from './support/report.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SUPPORT = join(ROOT, 'bench', 'support');
const READY_TIMEOUT_MS = 30_000;
const PATH = '/api/orders/123';

/** A Gatehouse variant: settings and route fields over the bench's (undefined removes one). */
interface Variant {
  name: string;
  what: string;
  env?: Record<string, string>;
  route?: Record<string, unknown>;
}

const VARIANTS: Variant[] = [
  { name: 'pipeline only', what: "auth none, no rate limit: Fastify, hooks, helmet's headers, CORS, metrics, proxy", route: { auth: 'none', scopes: [], rateLimit: undefined } },
  { name: '+ bearer', what: 'the route as in bench:gateway but without its rate limit', route: { rateLimit: undefined } },
  { name: 'Gatehouse', what: 'the route as in bench:gateway: bearer, scope, Redis rate limit' },
  { name: '+ request log', what: 'as Gatehouse, LOG_LEVEL=info (one line per request)', env: { LOG_LEVEL: 'info' } },
];

const probe = (url: string) => async () => {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await response.body?.cancel();
  return response.status < 500;
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

interface Target {
  name: string;
  what: string;
  child: Child;
  base: string;
  micros: number[];
}

/** `count` requests at `concurrency`; the child's CPU seconds per request, in microseconds. */
async function cost(target: Target, token: string, concurrency: number, count: number): Promise<number> {
  const address = forwardedFor();
  const before = await processCpuSeconds(target.child.process.pid);
  const { result, ok } = await runAutocannon({
    url: target.base,
    connections: concurrency,
    pipelining: 1,
    amount: count,
    timeout: 10,
    requests: [
      {
        method: 'GET',
        path: PATH,
        headers: { authorization: `Bearer ${token}` },
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, 'x-forwarded-for': address() } }),
      },
    ],
  });
  const after = await processCpuSeconds(target.child.process.pid);
  if (ok !== count) {
    throw new BenchError(`${target.name}: ${ok} of ${count} requests answered 200 (${JSON.stringify(result.statusCodeStats)})`);
  }
  if (before === undefined || after === undefined) throw new BenchError('no /proc: CPU time per process is Linux only');
  return ((after - before) / count) * 1e6;
}

async function main(): Promise<number> {
  const requests = numberSetting('BENCH_COST_REQUESTS', 10_000, 100, 10_000_000);
  const rounds = numberSetting('BENCH_COST_ROUNDS', 5, 1, 100);
  const concurrency = numberSetting('BENCH_CONCURRENCY', 16, 1, 1024);
  installCleanup();
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-cost-'));
  trackTempDir(dir);
  const children: Child[] = [];
  let redis: RedisServerHandle | undefined;
  try {
    redis = await startRedisServer();
    const tsPort = await freePort();
    const issuer = `http://localhost:${tsPort}`;
    const tokenService = startChild('token service', process.execPath, [join(ROOT, 'token-service', 'src', 'main.ts')], tokenServiceEnv(dir, tsPort));
    children.push(tokenService);
    await waitReady(tokenService, probe(`http://127.0.0.1:${tsPort}/readyz`), READY_TIMEOUT_MS);
    const upstreamPort = await freePort();
    const upstreamChild = startNodeChild('upstream', join(SUPPORT, 'upstream.ts'), { BENCH_PORT: String(upstreamPort) });
    children.push(upstreamChild);
    const upstream = `http://127.0.0.1:${upstreamPort}`;
    await waitReady(upstreamChild, probe(`${upstream}/orders/1`), READY_TIMEOUT_MS);
    const token = (await loginWithCode(issuer, 'alice')).tokens.access_token;

    const targets: Target[] = [];
    const barePort = await freePort();
    const bare = startNodeChild('bare proxy', join(SUPPORT, 'bare-proxy.ts'), { BENCH_PORT: String(barePort), BENCH_UPSTREAM: upstream });
    children.push(bare);
    await waitReady(bare, probe(`http://127.0.0.1:${barePort}${PATH}`), READY_TIMEOUT_MS);
    targets.push({ name: 'bare proxy', what: 'Fastify + @fastify/http-proxy, no auth', child: bare, base: `http://127.0.0.1:${barePort}`, micros: [] });

    for (const variant of VARIANTS) {
      const port = await freePort();
      const settings = {
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: String(port),
        TOKEN_SERVICE_URL: issuer,
        API_AUDIENCE: 'urn:gatehouse:api',
        AUDIT_LOG: join(dir, 'audit', `gateway-${port}.jsonl`),
        REDIS_URL: redis.url,
        TRUST_PROXY: '127.0.0.1',
        ...variant.env,
      };
      const route = {
        name: 'orders',
        prefix: '/api/orders',
        upstream,
        methods: ['GET'],
        auth: 'bearer',
        scopes: ['orders:read'],
        roles: [],
        rateLimit: { policy: 'ip', failMode: 'closed' },
        ...variant.route,
      };
      // JSON drops the undefined members: that is how a variant removes a route field.
      const child = startNodeChild(`Gatehouse (${variant.name})`, join(SUPPORT, 'gatehouse.ts'), {
        BENCH_GATEWAY_ENV: JSON.stringify(settings),
        BENCH_ROUTES: JSON.stringify([route]),
      });
      children.push(child);
      await waitReady(child, probe(`http://127.0.0.1:${port}/readyz`), READY_TIMEOUT_MS);
      targets.push({ name: variant.name, what: variant.what, child, base: `http://127.0.0.1:${port}`, micros: [] });
    }

    const out = process.stdout;
    out.write(
      `Gatehouse gateway cost per request: ${int.format(requests)} requests per target per round, ${rounds} rounds, ` +
        `concurrency ${concurrency}; ${cpus().length} CPUs, load average at start ${loadavg().map((v) => v.toFixed(2)).join(' ')}\n` +
        '  CPU µs/request = the target process\'s CPU time (user + system, /proc) / requests; warm-up round discarded\n\n',
    );
    for (const target of targets) await cost(target, token, concurrency, Math.min(requests, 3000));
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) target.micros.push(await cost(target, token, concurrency, requests));
    }

    const rows = [['target', 'min µs/req', 'median µs/req', 'vs bare (median)', 'what runs']];
    const bareMedian = median(targets[0]!.micros);
    for (const target of targets) {
      rows.push([
        target.name,
        int.format(Math.min(...target.micros)),
        int.format(median(target.micros)),
        `${(median(target.micros) / bareMedian).toFixed(2)}x`,
        target.what,
      ]);
    }
    out.write(`${table(rows, new Set([1, 2, 3]))}\n`);
    return 0;
  } finally {
    for (const child of children.reverse()) await child.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
    untrackTempDir(dir);
  }
}

runBench('bench:gateway-cost', main);
