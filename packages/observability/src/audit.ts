/**
 * The audit stream: one JSON line per security decision, separate from the application log so it
 * can be shipped, retained and access-controlled on its own. It never holds a token, secret or
 * password: subjects are hashed (hashSubject) and tokens are named by jti or fingerprint.
 */
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { type DestinationStream, pino } from 'pino';
import { isoTime } from './time.ts';

export interface AuditEvent {
  /** Dotted name, e.g. login.failure, token.issued, exchange.denied. */
  event: string;
  outcome: 'success' | 'failure' | 'denied' | 'info';
  reason?: string;
  [field: string]: unknown;
}

export interface AuditLog {
  record(event: AuditEvent): void;
  flush(): Promise<void>;
}

export interface AuditLogOptions {
  /**
   * Buffer up to this many bytes before writing (file, stdout, stderr only; default 0: write each
   * record as soon as the previous write is done). A component writing a record per request sets
   * it, so a busy process makes one write per few KiB instead of one per record.
   */
  bufferBytes?: number;
  /**
   * With bufferBytes: write whatever is buffered at least this often (default 1000 ms). This bounds
   * how long a record waits in memory, i.e. what a crash (not a clean exit, which flushes) can lose.
   */
  flushIntervalMs?: number;
}

/**
 * destination: a file path, 'stdout', 'stderr', or a stream (tests). Files are appended to,
 * created with mode 0600 in a directory created if missing. Writes are asynchronous; flush() waits
 * for everything recorded so far, and a normal process exit flushes too (pino's exit handler).
 */
export function createAuditLog(
  component: string,
  destination: string | DestinationStream,
  options: AuditLogOptions = {},
): AuditLog {
  const stream = typeof destination === 'string' ? openDestination(destination, buffering(options)) : destination;
  const logger = pino(
    { base: { component, stream: 'audit' }, timestamp: isoTime, messageKey: 'msg' },
    stream,
  );
  return {
    record(event) {
      logger.info(event);
    },
    flush() {
      return new Promise((resolve) => logger.flush(() => resolve()));
    },
  };
}

interface Buffering {
  minLength: number;
  periodicFlush: number;
}

function buffering(options: AuditLogOptions): Buffering {
  const bytes = options.bufferBytes ?? 0;
  const interval = options.flushIntervalMs ?? 1000;
  // sonic-boom refuses a minLength of its maxWrite (16 KiB) or more.
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > 8192) {
    throw new TypeError('bufferBytes must be an integer from 0 to 8192');
  }
  if (!Number.isSafeInteger(interval) || interval < 1) throw new TypeError('flushIntervalMs must be a positive integer');
  return bytes === 0 ? { minLength: 0, periodicFlush: 0 } : { minLength: bytes, periodicFlush: interval };
}

function openDestination(destination: string, { minLength, periodicFlush }: Buffering): DestinationStream {
  // sync: false everywhere: an audit write must never block the event loop on the disk or a pipe.
  const common = { sync: false, minLength, periodicFlush };
  if (destination === 'stdout') return pino.destination({ dest: 1, ...common });
  if (destination === 'stderr') return pino.destination({ dest: 2, ...common });
  mkdirSync(dirname(destination), { recursive: true, mode: 0o700 });
  // Opened here, synchronously, once at start-up: sonic-boom opens a path asynchronously, and a
  // process that exits before that open completes (a start-up refusal, exit 78) had pino's exit
  // flush throw "sonic boom is not ready yet" out of process.exit (the gateway then exited 1).
  const fd = openSync(destination, 'a', 0o600);
  return pino.destination({ dest: fd, ...common });
}

/** An in-memory sink for tests: the parsed records, in order. */
export function memoryAuditSink(): { stream: DestinationStream; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) records.push(JSON.parse(line));
      done();
    },
  });
  return { stream: stream as unknown as DestinationStream, records };
}
