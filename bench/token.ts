/**
 * `npm run bench:token`: token exchanges/s next to client_credentials grants/s, in the same run,
 * against a real token service started as a child process on a loopback port.
 *
 * For each concurrency (default 1 and 16): a warm-up of each grant (default 1 s, discarded), then a
 * fixed measured time per grant (default 5 s), split into rounds that alternate between the two
 * grants, over keep-alive connections driven by autocannon. Only 200 responses count as successes;
 * latency percentiles are of the 200 responses. Prints one table and the exchange/client_credentials
 * ratios with the issue's targets; it never asserts them.
 *
 * Exit code: 0 when the bench ran (targets met or not); 1 when the bench itself failed: the service
 * did not start or died, the sanity requests failed, or a cell got no 200 response at all.
 *
 * Environment: BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1), BENCH_CONCURRENCY ("1,16"),
 * BENCH_ROUNDS (5: the measured seconds are split into rounds alternating between the grants),
 * BENCH_GRANTS ("client_credentials,exchange": one of them alone, e.g. to profile it),
 * BENCH_CPU_PROF (a directory: the service runs with --cpu-prof and writes its profile there).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { arch, cpus, loadavg, platform, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loginWithCode } from '../token-service/test/support/oauth.ts';
import { freePort, SECRETS } from '../token-service/test/support/token-service.ts';
import {
  BenchError,
  type Child,
  installCleanup,
  startChild,
  trackTempDir,
  untrackTempDir,
  waitReady,
  tokenServiceEnv,
} from './support/children.ts';
import { machineCpuSeconds, processCpuSeconds } from './support/cpu.ts';
import { type AutocannonRun, autocannonVersion, REQUEST_TIMEOUT_S, runAutocannon } from './support/load.ts';
import { delta, int, ms, numberSetting, pct, plus, runBench, table } from './support/report.ts';

// ---------------------------------------------------------------------------------------------
// Settings

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SERVICE_MAIN = join(ROOT, 'token-service', 'src', 'main.ts');
const RATE_LIMIT = '100000000';
const RATE_LIMIT_WINDOW_SECONDS = '60';
const READY_TIMEOUT_MS = 30_000;

const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';


function concurrencySetting(): number[] {
  const raw = process.env.BENCH_CONCURRENCY?.trim() || '1,16';
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (
    values.length === 0 ||
    values.length > 8 ||
    values.some((v) => !Number.isInteger(v) || v < 1 || v > 1024)
  ) {
    throw new BenchError(
      `BENCH_CONCURRENCY=${raw}: expected up to 8 comma-separated integers from 1 to 1024`,
    );
  }
  return [...new Set(values)];
}

function grantsSetting(): Set<'client_credentials' | 'exchange'> {
  const raw = process.env.BENCH_GRANTS?.trim() || 'client_credentials,exchange';
  const names = raw.split(',').map((part) => part.trim());
  const grants = new Set<'client_credentials' | 'exchange'>();
  for (const name of names) {
    if (name !== 'client_credentials' && name !== 'exchange') {
      throw new BenchError(`BENCH_GRANTS=${raw}: expected client_credentials and/or exchange`);
    }
    grants.add(name);
  }
  return grants;
}

// ---------------------------------------------------------------------------------------------
// The token service as a child process

interface Service {
  child: Child;
  port: number;
  issuer: string;
  base: string;
}

async function startService(dir: string, cpuProfDir: string | undefined): Promise<Service> {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const base = `http://127.0.0.1:${port}`;
  // Only these settings, not the caller's shell: a config file, a Redis URL or NODE_OPTIONS there
  // would change what is measured.
  const env = tokenServiceEnv(dir, port, {
    RATE_LIMIT_TOKEN_PER_CLIENT: RATE_LIMIT,
    RATE_LIMIT_TOKEN_PER_IP: RATE_LIMIT,
    RATE_LIMIT_WINDOW_SECONDS,
  });
  const args = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, SERVICE_MAIN] : [SERVICE_MAIN];
  const child = startChild('the token service', process.execPath, args, env, { cwd: ROOT });
  const ready = async () => {
    const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.status === 200;
  };
  try {
    await waitReady(child, ready, READY_TIMEOUT_MS);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { child, port, issuer, base };
}

/** Whatever happens to the bench (watchdog, Ctrl-C), no service or temp directory is left behind. */
installCleanup();

// ---------------------------------------------------------------------------------------------
// Load

interface Workload {
  grant: 'token exchange' | 'client_credentials';
  headers: Record<string, string>;
  body: string;
}

interface Cell {
  grant: Workload['grant'];
  concurrency: number;
  seconds: number;
  ok: number;
  perSecond: number;
  p50: number | undefined;
  p99: number | undefined;
  failures: number;
  failureDetail: string;
  serverCpu: number | undefined;
  loadCpu: number;
  /** CPU used by everything else on the machine during the cell: other processes disturb the result. */
  otherCpu: number | undefined;
  /** CPU time the hypervisor gave to other machines: a busy host disturbs the result too. */
  steal: number | undefined;
}

function basic(clientId: keyof typeof SECRETS): string {
  const encode = (value: string) => encodeURIComponent(value);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(SECRETS[clientId])}`).toString('base64')}`;
}

const FORM = 'application/x-www-form-urlencoded';

function exchangeWorkload(subjectToken: string): Workload {
  const body = new URLSearchParams();
  body.append('grant_type', TOKEN_EXCHANGE);
  body.append('subject_token', subjectToken);
  body.append('subject_token_type', ACCESS);
  body.append('audience', 'urn:gatehouse:consumer:shipping');
  body.append('audience', 'urn:gatehouse:consumer:invoicing');
  body.append('producer', 'sales');
  return {
    grant: 'token exchange',
    headers: { authorization: basic('gateway'), 'content-type': FORM, accept: 'application/json' },
    body: body.toString(),
  };
}

function clientCredentialsWorkload(): Workload {
  return {
    grant: 'client_credentials',
    headers: { authorization: basic('shipping'), 'content-type': FORM, accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders:read' }).toString(),
  };
}

/** One request of each workload before any load: both must be 200 with a token, or nothing is measured. */
async function sanityCheck(base: string, workload: Workload): Promise<void> {
  const response = await fetch(`${base}/token`, {
    method: 'POST',
    headers: workload.headers,
    body: workload.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_S * 1000),
  });
  const text = await response.text();
  let token: unknown;
  try {
    token = (JSON.parse(text) as { access_token?: unknown }).access_token;
  } catch {
    token = undefined;
  }
  if (response.status !== 200 || typeof token !== 'string') {
    throw new BenchError(
      `${workload.grant}: expected 200 with an access_token, got ${response.status}: ${text.slice(0, 500)}`,
    );
  }
}

function runLoad(base: string, workload: Workload, connections: number, seconds: number): Promise<AutocannonRun> {
  return runAutocannon({
    url: `${base}/token`,
    method: 'POST',
    headers: workload.headers,
    body: workload.body,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: REQUEST_TIMEOUT_S,
  });
}

/** The measured rounds of one cell (one grant at one concurrency), added up. */
class Tally {
  readonly grant: Workload['grant'];
  readonly concurrency: number;
  readonly latencyMicros = createHistogram();
  seconds = 0;
  ok = 0;
  responses = 0;
  socketErrors = 0;
  timeouts = 0;
  readonly statuses = new Map<string, number>();
  serverCpu: number | undefined = 0;
  loadCpu = 0;
  machineBusy: number | undefined = 0;
  steal: number | undefined = 0;

  constructor(grant: Workload['grant'], concurrency: number) {
    this.grant = grant;
    this.concurrency = concurrency;
  }

  cell(): Cell {
    const elapsed = this.seconds > 0 ? this.seconds : 1;
    const percentile = (p: number) =>
      this.latencyMicros.count > 0 ? this.latencyMicros.percentile(p) / 1000 : undefined;
    const details = [...this.statuses].map(([code, count]) => `${count} x ${code}`);
    if (this.socketErrors > 0) details.push(`${this.socketErrors} socket errors (${this.timeouts} timeouts)`);
    const serverCpu = this.serverCpu === undefined ? undefined : this.serverCpu / elapsed;
    const loadCpu = this.loadCpu / elapsed;
    return {
      grant: this.grant,
      concurrency: this.concurrency,
      seconds: this.seconds,
      ok: this.ok,
      perSecond: this.ok / elapsed,
      p50: percentile(50),
      p99: percentile(99),
      failures: this.responses - this.ok + this.socketErrors,
      failureDetail: details.join(', '),
      serverCpu,
      loadCpu,
      otherCpu:
        this.machineBusy === undefined || serverCpu === undefined
          ? undefined
          : Math.max(0, this.machineBusy / elapsed - serverCpu - loadCpu),
      steal: this.steal === undefined ? undefined : this.steal / elapsed,
    };
  }
}


/** One measured round of one grant, added to its tally. */
async function round(service: Service, workload: Workload, seconds: number, tally: Tally): Promise<void> {
  const machineBefore = await machineCpuSeconds();
  const serverBefore = await processCpuSeconds(service.child.process.pid);
  const loadBefore = process.cpuUsage();
  const { result, ok, latencyMicros } = await runLoad(service.base, workload, tally.concurrency, seconds);
  const load = process.cpuUsage(loadBefore);
  const serverAfter = await processCpuSeconds(service.child.process.pid);
  const machineAfter = await machineCpuSeconds();

  tally.seconds += result.duration > 0 ? result.duration : seconds;
  tally.ok += ok;
  tally.latencyMicros.add(latencyMicros);
  for (const [code, stat] of Object.entries(result.statusCodeStats)) {
    tally.responses += stat.count;
    if (code !== '200') tally.statuses.set(code, (tally.statuses.get(code) ?? 0) + stat.count);
  }
  tally.socketErrors += result.errors;
  tally.timeouts += result.timeouts;
  tally.serverCpu = plus(tally.serverCpu, delta(serverBefore, serverAfter));
  tally.loadCpu += (load.user + load.system) / 1e6;
  tally.machineBusy = plus(tally.machineBusy, delta(machineBefore?.busy, machineAfter?.busy));
  tally.steal = plus(tally.steal, delta(machineBefore?.steal, machineAfter?.steal));
}

/**
 * All grants at one concurrency: a warm-up of each, then the measured time in rounds that
 * alternate between the grants (the order flips every round), so a slow spell of the machine
 * falls on both grants rather than on whichever cell ran during it.
 */
async function measureConcurrency(
  service: Service,
  workloads: Workload[],
  concurrency: number,
  settings: { seconds: number; warmup: number; rounds: number },
): Promise<Cell[]> {
  if (settings.warmup > 0) {
    for (const workload of workloads) await runLoad(service.base, workload, concurrency, settings.warmup);
  }
  const tallies = workloads.map((workload) => new Tally(workload.grant, concurrency));
  const slice = settings.seconds / settings.rounds;
  for (let r = 0; r < settings.rounds; r += 1) {
    const order = r % 2 === 0 ? workloads.keys() : [...workloads.keys()].reverse();
    for (const index of order) {
      await round(service, workloads[index]!, slice, tallies[index]!);
      if (service.child.exited()) {
        throw new BenchError(`the token service died during the run:\n${service.child.output()}`);
      }
    }
  }
  return tallies.map((tally) => tally.cell());
}

// ---------------------------------------------------------------------------------------------
// Report



function report(cells: Cell[], concurrencies: number[]): string {
  const rows = [
    [
      'grant',
      'concurrency',
      'requests/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'server CPU',
      'load-gen CPU',
      'other CPU',
      'steal',
    ],
    ...cells.map((cell) => [
      cell.grant,
      String(cell.concurrency),
      int.format(cell.perSecond),
      ms(cell.p50),
      ms(cell.p99),
      int.format(cell.failures),
      pct(cell.serverCpu),
      pct(cell.loadCpu),
      pct(cell.otherCpu),
      pct(cell.steal),
    ]),
  ];
  const lines = [
    table(rows, new Set([1, 2, 3, 4, 5, 6, 7, 8, 9])),
    `CPU columns: share of one CPU (this machine has ${cpus().length}); other = the rest of the machine; ` +
      'steal = CPU the hypervisor gave to other machines.',
    '',
  ];
  const names = (some: Cell[]) => some.map((c) => `${c.grant} c=${c.concurrency}`).join(', ');
  const busy = cells.filter((cell) => (cell.otherCpu ?? 0) > 0.15);
  if (busy.length > 0) {
    lines.push(
      `WARNING: other processes used CPU during ${names(busy)}: ` +
        'those numbers are disturbed; rerun on a quiet machine.',
    );
  }
  const stolen = cells.filter((cell) => (cell.steal ?? 0) > 0.1);
  if (stolen.length > 0) {
    lines.push(
      `WARNING: the hypervisor took CPU (steal) during ${names(stolen)}: the host is busy; those numbers are low.`,
    );
  }
  for (const cell of cells.filter((c) => c.failures > 0)) {
    lines.push(`errors, ${cell.grant} at c=${cell.concurrency}: ${cell.failureDetail}`);
  }
  const find = (grant: Cell['grant'], concurrency: number) =>
    cells.find((c) => c.grant === grant && c.concurrency === concurrency);
  const ratio = (concurrency: number) => {
    const exchange = find('token exchange', concurrency);
    const credentials = find('client_credentials', concurrency);
    return exchange && credentials && credentials.perSecond > 0
      ? exchange.perSecond / credentials.perSecond
      : undefined;
  };
  for (const concurrency of concurrencies) {
    const r = ratio(concurrency);
    lines.push(
      `exchange / client_credentials at c=${concurrency}: ${r === undefined ? 'n/a' : `${r.toFixed(2)}x`}`,
    );
  }
  const r16 = ratio(16);
  const exchange16 = find('token exchange', 16);
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  lines.push(
    `target exchange >= 0.85x client_credentials at c=16: ${
      r16 === undefined ? 'not measured (no c=16 cell)' : `${verdict(r16 >= 0.85)} (${r16.toFixed(2)}x)`
    }`,
    `target >= 2,000 exchanges/s at c=16: ${
      exchange16 === undefined
        ? 'not measured (no c=16 cell)'
        : `${verdict(exchange16.perSecond >= 2000)} (${int.format(exchange16.perSecond)}/s)`
    }`,
    'The targets are stated for a 2-vCPU machine; they are printed, never asserted.',
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const seconds = numberSetting('BENCH_SECONDS', 5, 1, 600);
  const warmup = numberSetting('BENCH_WARMUP_SECONDS', 1, 0, 60);
  const rounds = numberSetting('BENCH_ROUNDS', Math.min(5, Math.floor(seconds)), 1, 60);
  if (!Number.isInteger(rounds) || seconds / rounds < 0.5) {
    throw new BenchError(`BENCH_ROUNDS=${rounds}: expected an integer, with at least 0.5 s per round`);
  }
  const concurrencies = concurrencySetting();
  const grants = grantsSetting();
  const cpuProfDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
  if (cpuProfDir) await mkdir(cpuProfDir, { recursive: true });

  // A bound on the whole run: cells plus start-up and login; a hang ends the bench.
  const budgetMs =
    (concurrencies.length * grants.size * (seconds + warmup + rounds + 2 * REQUEST_TIMEOUT_S) + 120) * 1000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench:token: gave up after ${Math.round(budgetMs / 1000)} s\n`);
    process.exit(1);
  }, budgetMs);
  watchdog.unref();

  const cpuList = cpus();
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  trackTempDir(dir);
  let service: Service | undefined;
  try {
    service = await startService(dir, cpuProfDir);
    const { tokens } = await loginWithCode(service.issuer, 'alice');
    const workloads = [
      ...(grants.has('client_credentials') ? [clientCredentialsWorkload()] : []),
      ...(grants.has('exchange') ? [exchangeWorkload(tokens.access_token)] : []),
    ];
    for (const workload of workloads) await sanityCheck(service.base, workload);

    const out = process.stdout;
    out.write('Gatehouse token service benchmark: token exchange vs client_credentials\n');
    out.write(
      `  node ${process.version} (${platform()} ${arch()}), ${cpuList.length} CPUs: ${cpuList[0]?.model.trim() ?? 'unknown'}\n`,
    );
    out.write(
      `  server: node ${SERVICE_MAIN.slice(ROOT.length + 1)} as a child process on ${service.base}, ` +
        `NODE_ENV=development, LOG_LEVEL=warn, other settings default (in-memory stores, audit log to a temp file)` +
        `${cpuProfDir ? `, --cpu-prof into ${cpuProfDir}` : ''}\n`,
    );
    out.write(
      `  load: autocannon ${autocannonVersion} in the bench process, keep-alive connections, pipelining 1; ` +
        `per cell ${warmup} s warm-up (discarded), then ${seconds} s measured in ${rounds} ` +
        `round${rounds === 1 ? '' : 's'} of ${+(seconds / rounds).toFixed(2)} s alternating between the grants\n`,
    );
    out.write(
      `  server and load generator share this machine (loopback): yes, both on the same ${cpuList.length} CPUs; ` +
        `load average at start ${loadavg()
          .map((value) => value.toFixed(2))
          .join(' ')}\n`,
    );
    out.write(
      `  rate limits: RATE_LIMIT_TOKEN_PER_CLIENT=${RATE_LIMIT} RATE_LIMIT_TOKEN_PER_IP=${RATE_LIMIT} ` +
        `per ${RATE_LIMIT_WINDOW_SECONDS} s (raised so they never trigger; the check itself still runs)\n`,
    );
    out.write(
      "  token exchange: client gateway, alice's access token -> message token for shipping + invoicing, producer=sales\n" +
        '  client_credentials: client shipping, scope=orders:read\n' +
        '  only 200 responses count; p50/p99 are of 200 responses; errors = non-200 responses + socket errors\n\n',
    );

    const cells: Cell[] = [];
    for (const concurrency of concurrencies) {
      cells.push(...(await measureConcurrency(service, workloads, concurrency, { seconds, warmup, rounds })));
    }
    out.write(`${report(cells, concurrencies)}\n`);
    const empty = cells.filter((cell) => cell.ok === 0);
    if (empty.length > 0) {
      const names = empty.map((cell) => `${cell.grant} at c=${cell.concurrency}`).join(', ');
      process.stderr.write(`bench:token: no request succeeded in: ${names}\n`);
      return 1;
    }
    return 0;
  } finally {
    if (service) await service.child.stop();
    await rm(dir, { recursive: true, force: true });
    untrackTempDir(dir);
    clearTimeout(watchdog);
  }
}

runBench('bench:token', main);
