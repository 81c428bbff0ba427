/**
 * Child processes for the gateway bench: spawned on loopback, their output tailed for error
 * reports, waited for with a bound, and killed on exit, error and Ctrl-C (SIGTERM, then SIGKILL).
 */
import { join } from 'node:path';
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

export class BenchError extends Error {}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

const STOP_TIMEOUT_MS = 5_000;

export interface Child {
  name: string;
  process: ChildProcess;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Synchronous, for process 'exit': nothing is left behind whatever ends the bench. */
function cleanupSync(): void {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

let hooked = false;
export function installCleanup(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupSync);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => process.exit(code));
  }
}

export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

export function untrackTempDir(dir: string): void {
  tempDirs.delete(dir);
}

/** Keeps the last few KiB of a child's stdout/stderr. */
function tail(limit = 8192) {
  let text = '';
  return {
    push(chunk: Buffer | string) {
      text = (text + chunk.toString()).slice(-limit);
    },
    get: () => text,
  };
}

/**
 * Starts a child. Its stdin is a pipe the child may watch (the Node children here exit when it
 * closes, so even a SIGKILLed bench leaves no Node child behind).
 */
export function startChild(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { cwd?: string } = {},
): Child {
  const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  const out = tail();
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
    live.delete(child);
    out.push(`\n${name}: ${error.message}\n`);
  });
  child.once('exit', () => live.delete(child));
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stdin?.on('error', () => {});
  const exited = () => spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
  return {
    name,
    process: child,
    output: out.get,
    exited,
    async stop() {
      if (exited()) return;
      const gone = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        gone.then(() => true),
        new Promise<boolean>((done) => {
          timer = setTimeout(() => done(false), STOP_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!inTime) {
        child.kill('SIGKILL');
        await gone;
      }
    },
  };
}

/** A Node child running one of the scripts in this directory, with the bench's Node binary. */
export function startNodeChild(
  name: string,
  script: string,
  env: Record<string, string>,
  execArgv: string[] = [],
): Child {
  const base: NodeJS.ProcessEnv = {
    ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    NODE_ENV: 'production',
  };
  return startChild(name, process.execPath, [...execArgv, script], { ...base, ...env });
}

/**
 * Waits (bounded) until `probe` answers true; fails early when the child exits. The probe must
 * bound its own time (e.g. AbortSignal.timeout).
 */
export async function waitReady(child: Child, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exited()) {
      throw new BenchError(`${child.name} exited before it was ready:\n${child.output()}`);
    }
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new BenchError(`${child.name} was not ready within ${timeoutMs / 1000} s:\n${child.output()}`);
}

/** For child scripts: exit when the parent goes away (stdin closes) or asks (SIGTERM/SIGINT). */
export function exitWithParent(close: () => Promise<void> | void): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(0), 2000);
    force.unref();
    Promise.resolve()
      .then(close)
      .finally(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** For child scripts: a required environment variable. */
export function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`${name} is required\n`);
    process.exit(2);
  }
  return value;
}

/**
 * A token service child's environment: only these settings, not the caller's shell (a config
 * file, a Redis URL or NODE_OPTIONS there would change what is measured). Stores and logs go
 * under dir; access tokens outlive a long run (benches reuse one subject token).
 */
export function tokenServiceEnv(dir: string, port: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    TOKEN_SERVICE_HOST: '127.0.0.1',
    TOKEN_SERVICE_PORT: String(port),
    ISSUER: `http://localhost:${port}`,
    KEYSTORE_PATH: join(dir, 'keys', 'keystore.json'),
    CLIENT_KEYS_DIR: join(dir, 'clients'),
    AUDIT_LOG: join(dir, 'audit', 'token-service.jsonl'),
    ACCESS_TOKEN_TTL: '3600',
    ...extra,
  };
}
