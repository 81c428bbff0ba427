// Starts a throwaway redis-server (the Debian package) for tests: loopback only, a free port, no
// persistence, a temp dir. Every server is killed when the test process exits, even on a signal.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RedisServerHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** SIGKILL, for fault tests */
  kill(): Promise<void>;
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 5000;
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
      // Keep the default "die on signal" unless someone else (e.g. tap) handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** REDIS_SERVER overrides; otherwise PATH plus the Debian locations. */
export function findRedisServer(): string | undefined {
  if (process.env.REDIS_SERVER) return process.env.REDIS_SERVER;
  const dirsToTry = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const dir of dirsToTry.filter(Boolean)) {
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there or not executable: try the next candidate
    }
  }
  return undefined;
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

/** One raw RESP PING, so the harness does not depend on the client under test. */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(250, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

async function spawnServer(binary: string, port: number, dir: string): Promise<ChildProcess> {
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'];
  args.push('--dir', dir, '--daemonize', 'no', '--loglevel', 'warning');
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // A server a test forgot to stop must not keep the test process alive; the exit hook kills it.
  child.unref();
  (child.stderr as Socket | null)?.unref();
  live.add(child);
  child.once('exit', () => live.delete(child));
  // e.g. ENOENT for a bad REDIS_SERVER: the process never ran, so no 'exit' will follow.
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
    live.delete(child);
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) break;
    if (await pingOnce(port)) return child;
    await sleep(50);
  }
  if (spawnError) throw new Error(`cannot start ${binary}: ${spawnError.message}`);
  child.kill('SIGKILL');
  await waitExit(child);
  throw new Error(`redis-server on port ${port} did not answer PING: ${stderr.trim() || 'no output'}`);
}

export async function startRedisServer(): Promise<RedisServerHandle> {
  const binary = findRedisServer();
  if (!binary) throw new Error('redis-server is not installed (apt-get install redis-server)');
  installExitHooks();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  dirs.add(dir);

  // The free port can be taken between probing and binding; try a few.
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await spawnServer(binary, port, dir);
    } catch (err) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        dirs.delete(dir);
        throw err;
      }
    }
  }

  let current: ChildProcess = child;
  const terminate = async (signal: NodeJS.Signals) => {
    current.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      waitExit(current).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), 2000);
      }),
    ]);
    clearTimeout(timer);
    if (!exited) {
      current.kill('SIGKILL');
      await waitExit(current);
    }
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await terminate('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
    async kill() {
      await terminate('SIGKILL');
    },
    async restart() {
      await terminate('SIGTERM');
      current = await spawnServer(binary, port, dir);
    },
  };
}

/** For tap: returns a handle, or when redis-server is not installed: throws if process.env.CI === 'true'
 *  (a missing server in CI is a failure), else returns undefined so the caller can t.skip with a
 *  visible reason. */
export async function redisServerOrSkip(): Promise<RedisServerHandle | undefined> {
  if (!findRedisServer() && process.env.CI !== 'true') return undefined;
  return startRedisServer();
}
