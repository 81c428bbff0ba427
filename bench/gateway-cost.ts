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
 * Environment: BENCH_COST_REQUESTS (10000 per round), BENCH_COST_ROUNDS (5), BENCH_CONCURRENCY (16),
 * BENCH_COST_ONLY (comma-separated variant names to run, e.g. "+ bearer,Gatehouse"; the bare proxy
 * always runs), BENCH_CPU_PROF (a directory: every target runs with --cpu-prof and writes
 * <target>.cpuprofile there, for self time per function), BENCH_COST_COMPARE (the root of another
 * checkout with its own node_modules, e.g. the commit before a change: every variant also runs from
 * there, as "<variant> (compare)", in the same rounds, so before and after share the machine's mood).
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
import { machineCpuSeconds, processCpuSeconds, redisCpuSeconds } from './support/cpu.ts';
import { forwardedFor, runAutocannon } from './support/load.ts';
import { int, numberSetting, runBench, table } from './support/report.ts';
import { benchRoute } from './support/route.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SUPPORT = join(ROOT, 'bench', 'support');
const READY_TIMEOUT_MS = 30_000;
const PATH = '/api/orders/123';
/** Other processes' CPU (share of one CPU) above which a round is measured again. */
const QUIET_SHARE = 0.1;
const MAX_ATTEMPTS = 8;

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
  { name: 'synced counters', what: 'as Gatehouse, RATE_LIMIT_SYNC_MS=100 (rate-limit counts summed on Redis every 100 ms)', env: { RATE_LIMIT_SYNC_MS: '100' } },
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
  /** Rounds measured again because other processes were busy during them. */
  disturbed: number;
}

/** What else runs during a round, besides the target: the bench itself, the upstream, redis-server. */
interface Bystanders {
  upstream: Child;
  redisPort: number;
}

async function bystanderCpuSeconds(bystanders: Bystanders): Promise<number> {
  const self = process.cpuUsage();
  const upstream = (await processCpuSeconds(bystanders.upstream.process.pid)) ?? 0;
  const redis = (await redisCpuSeconds(bystanders.redisPort)) ?? 0;
  return (self.user + self.system) / 1e6 + upstream + redis;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Waits (at most maxWaitMs) until the machine has been idle for 300 ms: other processes' bursts. */
async function quietMachine(maxWaitMs: number): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  while (Date.now() < deadline) {
    const before = await machineCpuSeconds();
    await sleep(300);
    const after = await machineCpuSeconds();
    if (before === undefined || after === undefined) return;
    if (after.busy - before.busy < QUIET_SHARE * 0.3) return;
  }
}

/**
 * One measured round, repeated (up to MAX_ATTEMPTS) while other processes took more than
 * QUIET_SHARE of a CPU during it: CPU time per request moves with what the other CPU is doing
 * (caches, memory bandwidth), so a round beside another process's burst is not comparable.
 */
async function quietCost(target: Target, token: string, concurrency: number, count: number, bystanders: Bystanders): Promise<number> {
  let micros = 0;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    await quietMachine(20_000);
    const start = Date.now();
    const machineBefore = await machineCpuSeconds();
    const targetBefore = await processCpuSeconds(target.child.process.pid);
    const othersBefore = await bystanderCpuSeconds(bystanders);
    micros = await cost(target, token, concurrency, count);
    const machineAfter = await machineCpuSeconds();
    const targetAfter = await processCpuSeconds(target.child.process.pid);
    const othersAfter = await bystanderCpuSeconds(bystanders);
    if (machineBefore === undefined || machineAfter === undefined) return micros;
    const other =
      machineAfter.busy - machineBefore.busy - ((targetAfter ?? 0) - (targetBefore ?? 0)) - (othersAfter - othersBefore);
    if (other < QUIET_SHARE * ((Date.now() - start) / 1000)) return micros;
    target.disturbed += 1;
  }
  return micros;
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

/** Each variant against its compare twin, round by round (the pairs ran minutes apart at most). */
function comparison(targets: Target[]): string {
  const rows = [['variant', 'this - compare, median of rounds (µs/req)', 'per round']];
  for (const target of targets) {
    const twin = targets.find((t) => t.name === `${target.name} (compare)`);
    if (twin === undefined) continue;
    const deltas = target.micros.map((micros, i) => micros - twin.micros[i]!);
    rows.push([target.name, int.format(median(deltas)), deltas.map((d) => int.format(d)).join(' ')]);
  }
  return `\n${table(rows, new Set([1]))}\n`;
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
    const bystanders: Bystanders = { upstream: upstreamChild, redisPort: redis.port };

    const cpuProfDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
    const profile = (name: string) =>
      cpuProfDir
        ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${name.replace(/[^a-z]+/gi, '-')}.cpuprofile`]
        : [];
    const only = process.env.BENCH_COST_ONLY?.split(',').map((name) => name.trim());
    const targets: Target[] = [];
    const barePort = await freePort();
    const bare = startNodeChild('bare proxy', join(SUPPORT, 'bare-proxy.ts'), { BENCH_PORT: String(barePort), BENCH_UPSTREAM: upstream }, profile('bare proxy'));
    children.push(bare);
    await waitReady(bare, probe(`http://127.0.0.1:${barePort}${PATH}`), READY_TIMEOUT_MS);
    targets.push({ name: 'bare proxy', what: 'Fastify + @fastify/http-proxy, no auth', child: bare, base: `http://127.0.0.1:${barePort}`, micros: [], disturbed: 0 });

    const compare = process.env.BENCH_COST_COMPARE ? resolve(process.env.BENCH_COST_COMPARE) : undefined;
    const trees = compare ? [{ suffix: '', root: ROOT }, { suffix: ' (compare)', root: compare }] : [{ suffix: '', root: ROOT }];
    for (const { variant, suffix, root } of VARIANTS.flatMap((variant) => trees.map((tree) => ({ variant, ...tree })))) {
      if (only && !only.includes(variant.name)) continue;
      const name = `${variant.name}${suffix}`;
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
      const route = { ...benchRoute(upstream), ...variant.route };
      // JSON drops the undefined members: that is how a variant removes a route field.
      const child = startNodeChild(
        `Gatehouse (${name})`,
        join(root, 'bench', 'support', 'gatehouse.ts'),
        { BENCH_GATEWAY_ENV: JSON.stringify(settings), BENCH_ROUTES: JSON.stringify([route]) },
        profile(name),
      );
      children.push(child);
      await waitReady(child, probe(`http://127.0.0.1:${port}/readyz`), READY_TIMEOUT_MS);
      targets.push({ name, what: variant.what, child, base: `http://127.0.0.1:${port}`, micros: [], disturbed: 0 });
    }

    const out = process.stdout;
    out.write(
      `Gatehouse gateway cost per request: ${int.format(requests)} requests per target per round, ${rounds} rounds, ` +
        `concurrency ${concurrency}; ${cpus().length} CPUs, load average at start ${loadavg().map((v) => v.toFixed(2)).join(' ')}\n` +
        '  CPU µs/request = the target process\'s CPU time (user + system, /proc) / requests; warm-up round discarded;\n' +
        `  a round starts once the machine is idle and is measured again (up to ${MAX_ATTEMPTS} times) when other processes took more than ${QUIET_SHARE * 100}% of a CPU during it\n\n`,
    );
    for (const target of targets) await cost(target, token, concurrency, Math.min(requests, 3000));
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) target.micros.push(await quietCost(target, token, concurrency, requests, bystanders));
    }

    const rows = [['target', 'min µs/req', 'median µs/req', 'vs bare (median)', 'rounds redone', 'what runs']];
    const bareMedian = median(targets[0]!.micros);
    for (const target of targets) {
      rows.push([
        target.name,
        int.format(Math.min(...target.micros)),
        int.format(median(target.micros)),
        `${(median(target.micros) / bareMedian).toFixed(2)}x`,
        String(target.disturbed),
        target.what,
      ]);
    }
    out.write(`${table(rows, new Set([1, 2, 3, 4]))}\n`);
    if (compare) out.write(comparison(targets));
    return 0;
  } finally {
    for (const child of children.reverse()) await child.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
    untrackTempDir(dir);
  }
}

runBench('bench:gateway-cost', main);
