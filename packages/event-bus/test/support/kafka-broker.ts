// A real Kafka protocol endpoint for tests: librdkafka's mock cluster (kafka-mock/mock-cluster.c),
// compiled once per source version into node_modules/.cache and started per test file on
// loopback. Exported as @gatehouse/event-bus/testing for other packages' tests.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface KafkaBrokerHandle {
  /** host:port bootstrap addresses, for KafkaBusOptions.brokers. */
  brokers: string[];
  /** The mock's process (benchmarks count its CPU apart from the rest of the machine). */
  pid: number | undefined;
  /** Every broker drops its connections and refuses new ones; the log is kept. */
  down(): Promise<void>;
  /** Brokers accept connections again. */
  up(): Promise<void>;
  /** The mock has no CreateTopics API: tests that need a partition count create topics here. */
  createTopic(topic: string, partitions: number): Promise<void>;
  stop(): Promise<void>;
}

const SOURCE = fileURLToPath(new URL('kafka-mock/mock-cluster.c', import.meta.url));
const CACHE = fileURLToPath(new URL('../../../../node_modules/.cache/gatehouse-kafka-mock/', import.meta.url));
const HEADER_DIRS = ['/usr/include', '/usr/local/include', ...(process.env.CPATH ?? '').split(delimiter).filter(Boolean)];
const START_TIMEOUT_MS = 5000;
const COMMAND_TIMEOUT_MS = 5000;

function onPath(command: string): boolean {
  if (command.includes('/')) return existsSync(command);
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Where this version of the source is (or will be) compiled to. */
function binaryPath(): string {
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
  return join(CACHE, `mock-cluster-${hash}`);
}

/** Why the mock broker cannot be built here, or undefined when it can (or already was). */
export function kafkaMockUnavailable(): string | undefined {
  if (existsSync(binaryPath())) return undefined;
  const compiler = process.env.CC ?? 'cc';
  if (!onPath(compiler)) return `no C compiler (${compiler}) on PATH`;
  if (!HEADER_DIRS.some((dir) => existsSync(join(dir, 'librdkafka', 'rdkafka_mock.h')))) {
    return 'librdkafka headers are not installed (apt-get install librdkafka-dev)';
  }
  return undefined;
}

let built: Promise<string> | undefined;

/** Compiles the mock once per source version; concurrent test processes race harmlessly. */
export function buildKafkaMock(): Promise<string> {
  built ??= (async () => {
    const binary = binaryPath();
    if (existsSync(binary)) return binary;
    mkdirSync(CACHE, { recursive: true });
    const partial = `${binary}.${process.pid}.tmp`;
    await promisify(execFile)(process.env.CC ?? 'cc', ['-O1', '-o', partial, SOURCE, '-lrdkafka']);
    renameSync(partial, binary);
    return binary;
  })();
  return built;
}

/**
 * librdkafka 2.0's mock cluster advertises controller id 0, a broker it does not have (its ids
 * start at 1). kafkajs asks the controller for the idempotent producer's id (InitProducerId), so
 * against the mock it fails with "Broker 0 not found". Only when the advertised controller is
 * missing from the metadata, this sends those requests to a listed broker instead (any broker
 * answers InitProducerId for a non-transactional producer). A real cluster never takes this path;
 * production code is untouched.
 */
let controllerPatched = false;
function tolerateMockController(): void {
  if (controllerPatched) return;
  controllerPatched = true;
  const require = createRequire(import.meta.url);
  const Cluster = require('kafkajs/src/cluster/index.js') as {
    prototype: { findControllerBroker(this: ClusterInternals): Promise<unknown> };
  };
  interface ClusterInternals {
    brokerPool: { metadata?: { controllerId?: number; brokers: { nodeId: number }[] } };
    findBroker(query: { nodeId: number }): Promise<unknown>;
  }
  const original = Cluster.prototype.findControllerBroker;
  Cluster.prototype.findControllerBroker = async function findControllerBroker(this: ClusterInternals) {
    const metadata = this.brokerPool.metadata;
    const listed = metadata?.brokers ?? [];
    if (typeof metadata?.controllerId === 'number' && listed.length > 0 && !listed.some((b) => b.nodeId === metadata.controllerId)) {
      return this.findBroker({ nodeId: listed[0]!.nodeId });
    }
    return original.call(this);
  };
}

const live = new Set<ChildProcess>();
let exitHook = false;
function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const mock of live) mock.kill('SIGKILL');
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`kafka mock: ${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export async function startKafkaBroker(options: { brokerCount?: number } = {}): Promise<KafkaBrokerHandle> {
  const binary = await buildKafkaMock();
  tolerateMockController();
  const child = spawn(binary, [String(options.brokerCount ?? 1)], { stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  // The mock answers each line in order: one waiter per line, all failed if it dies.
  const waiting: { resolve(line: string): void; reject(error: Error): void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.resolve(line));
  child.once('exit', (code, signal) => {
    const error = new Error(`kafka mock exited (${code ?? signal}): ${stderr.trim() || 'no output'}`);
    for (const waiter of waiting.splice(0)) waiter.reject(error);
  });
  const nextLine = (what: string, ms: number) =>
    withTimeout(new Promise<string>((resolve, reject) => waiting.push({ resolve, reject })), ms, what);

  const bootstraps = await nextLine('start', START_TIMEOUT_MS);
  const command = async (text: string) => {
    const answer = nextLine(text, COMMAND_TIMEOUT_MS);
    child.stdin!.write(`${text}\n`);
    const line = await answer;
    if (line !== 'ok') throw new Error(`kafka mock: ${text}: ${line}`);
  };
  let stopped: Promise<void> | undefined;
  return {
    brokers: bootstraps.split(','),
    pid: child.pid,
    down: () => command('down'),
    up: () => command('up'),
    createTopic: (topic, partitions) => command(`topic ${topic} ${partitions}`),
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
        // EOF is the clean exit; a mock stuck in destroy is killed.
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
      return stopped;
    },
  };
}

const inCi = () => Boolean(process.env.CI) && !['0', 'false'].includes(process.env.CI!.toLowerCase());

interface TapLike {
  skip(name: string, cb: () => void): unknown;
  teardown(fn: () => unknown): void;
}

/**
 * For tap: a started broker (stopped at the test's teardown), or, when the mock cannot be built
 * here, a visible skip, except in CI (CI=true) where a missing broker is a failure and throws.
 */
export async function kafkaBrokerOrSkip(t: TapLike, options?: { brokerCount?: number }): Promise<KafkaBrokerHandle | undefined> {
  const missing = kafkaMockUnavailable();
  if (missing) {
    if (inCi()) throw new Error(`kafka mock broker unavailable in CI: ${missing}`);
    t.skip(`kafka mock broker unavailable: ${missing} (set CI=true to make this fail)`, () => {});
    return undefined;
  }
  const broker = await startKafkaBroker(options);
  t.teardown(() => broker.stop());
  return broker;
}
