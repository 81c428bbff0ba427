// Starts a throwaway PostgreSQL server (the Debian postgresql package) for tests: its own temp dir,
// loopback on a free port plus a unix socket in that dir, trust auth, no fsync. Every server is
// killed when the test process exits, even on a signal; stop() shuts it down and removes the dir.
//
// initdb and postgres refuse to run as root. Tests run as root here and in CI, so then both run
// as the `postgres` system user: spawn()'s uid/gid rather than `runuser -u postgres --`, so the
// pid we hold is the postmaster itself and a kill reaches it, not a wrapper.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';

export interface PostgresHandle {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** The server's main process (its backends are its children): for CPU accounting in benches. */
  pid: number | undefined;
  /** Creates a fresh database on this server and returns its URL: one per suite keeps them apart. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

export const POSTGRES_MISSING =
  'PostgreSQL server not installed (apt-get install postgresql; or set POSTGRES_BIN to its bin dir)';

const READY_TIMEOUT_MS = 30_000;
const live = new Set<ChildProcess>();
const dirs = new Set<string>();

function cleanupSync(): void {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupSync();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** POSTGRES_BIN overrides; otherwise the newest /usr/lib/postgresql/<version>/bin. */
export function findPostgresBin(): string | undefined {
  const candidates = process.env.POSTGRES_BIN
    ? [process.env.POSTGRES_BIN]
    : safeList('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => join('/usr/lib/postgresql', v, 'bin'));
  return candidates.find((bin) => executable(join(bin, 'initdb')) && executable(join(bin, 'postgres')));
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

interface RunAs {
  uid: number;
  gid: number;
}

function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root needs the `postgres` system user (created by the Debian postgresql package)');
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function childEnv(dir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: dir, LC_ALL: 'C', LANG: 'C' };
}

function initdb(bin: string, data: string, dir: string, user: RunAs | undefined): void {
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    { env: childEnv(dir), stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, ...user },
  );
}

/** postmaster.pid's last line reads "ready" once the server accepts connections. */
function ready(data: string): boolean {
  try {
    return readFileSync(join(data, 'postmaster.pid'), 'utf8').includes('ready');
  } catch {
    return false;
  }
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    new Promise<boolean>((resolve) => child.once('exit', () => resolve(true))),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return exited;
}

async function spawnServer(bin: string, data: string, dir: string, port: number, user: RunAs | undefined) {
  const settings = [
    `listen_addresses=127.0.0.1`,
    `unix_socket_directories=${dir}`,
    'fsync=off',
    'synchronous_commit=off',
    'full_page_writes=off',
    // No System V or /dev/shm segments: a SIGKILLed test server leaves nothing outside its dir.
    'shared_memory_type=mmap',
    'dynamic_shared_memory_type=mmap',
    'max_connections=50',
  ];
  const args = ['-D', data, '-p', String(port), ...settings.flatMap((s) => ['-c', s])];
  const child = spawn(join(bin, 'postgres'), args, {
    env: childEnv(dir),
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    ...user,
  });
  // A server a test forgot to stop must not keep the test process alive; the exit hook kills it.
  child.unref();
  (child.stderr as Socket | null)?.unref();
  live.add(child);
  child.once('exit', () => live.delete(child));
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
    live.delete(child);
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) break;
    if (ready(data)) return child;
    await sleep(50);
  }
  child.kill('SIGKILL');
  await waitExit(child, 5000);
  throw new Error(`postgres on port ${port} did not start: ${spawnError?.message ?? (stderr.trim() || 'no output')}`);
}

async function createDatabaseOn(url: string, port: number, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return `postgres://postgres@127.0.0.1:${port}/${name}`;
}

/**
 * Starts a server for this test file; t.teardown stops it. Call it once per file (a server takes
 * a second or two to start) and use createDatabase() to keep suites apart.
 */
export async function startPostgres(t: Test): Promise<PostgresHandle> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(POSTGRES_MISSING);
  const user = runAs();
  installExitHooks();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  dirs.add(dir);
  const data = join(dir, 'data');
  let child: ChildProcess | undefined;
  let port = 0;
  try {
    if (user) chownSync(dir, user.uid, user.gid);
    initdb(bin, data, dir, user);
    // The free port can be taken between probing and binding; try a few.
    for (let attempt = 1; !child; attempt++) {
      port = await freePort();
      try {
        child = await spawnServer(bin, data, dir, port, user);
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
    throw err;
  }
  const server = child;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let counter = 0;
  let stopped = false;
  const handle: PostgresHandle = {
    url,
    port,
    pid: server.pid,
    createDatabase: (name) => createDatabaseOn(url, port, name ?? `test_${process.pid}_${++counter}`),
    async stop() {
      if (stopped) return;
      stopped = true;
      // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, close connections.
      server.kill('SIGINT');
      if (!(await waitExit(server, 10_000))) {
        server.kill('SIGKILL');
        await waitExit(server, 5000);
      }
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };
  t.teardown(() => handle.stop());
  return handle;
}

function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * startPostgres, or when no server is installed: in CI (CI=true) it throws, since a missing
 * server there is a failure; locally it records a skipped test with the reason and returns
 * undefined, so the caller leaves out its PostgreSQL suites.
 */
export async function postgresOrSkip(t: Test): Promise<PostgresHandle | undefined> {
  if (!findPostgresBin()) {
    if (inCi()) throw new Error(POSTGRES_MISSING);
    t.test('PostgreSQL suites', { skip: POSTGRES_MISSING }, async () => {});
    return undefined;
  }
  return startPostgres(t);
}
