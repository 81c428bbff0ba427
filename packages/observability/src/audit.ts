/**
 * The audit stream: one JSON line per security decision, separate from the application log so it
 * can be shipped, retained and access-controlled on its own. It never holds a token, secret or
 * password: subjects are hashed (hashSubject) and tokens are named by jti or fingerprint.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { type DestinationStream, pino } from 'pino';

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

/**
 * destination: a file path, 'stdout', 'stderr', or a stream (tests). Files are appended to,
 * created with mode 0600 in a directory created if missing.
 */
export function createAuditLog(component: string, destination: string | DestinationStream): AuditLog {
  const stream = typeof destination === 'string' ? openDestination(destination) : destination;
  const logger = pino(
    { base: { component, stream: 'audit' }, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' },
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

function openDestination(destination: string): DestinationStream {
  if (destination === 'stdout') return pino.destination(1);
  if (destination === 'stderr') return pino.destination(2);
  mkdirSync(dirname(destination), { recursive: true, mode: 0o700 });
  return pino.destination({ dest: destination, append: true, mkdir: true, sync: false, mode: 0o600 });
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
