import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import { isoTime } from './time.ts';

export type Logger = PinoLogger;

/** Paths pino must never print, whatever a caller passes in. */
export const redactPaths = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'client_secret',
  '*.client_secret',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'subject_token',
  '*.subject_token',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
];

export interface LoggerOptions {
  /**
   * stdout only (no destination given): buffer up to this many bytes before writing (default 0:
   * one write per line). A component logging every request sets it: one write per line is a
   * syscall per request. A clean exit flushes; a crash loses at most flushIntervalMs of lines.
   */
  bufferBytes?: number;
  /** With bufferBytes: write whatever is buffered at least this often (default 1000 ms). */
  flushIntervalMs?: number;
}

export function createLogger(
  component: string,
  level: string,
  destination?: DestinationStream,
  options: LoggerOptions = {},
): Logger {
  return pino(
    {
      level,
      base: { component },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: isoTime,
    },
    destination ?? stdout(options),
  );
}

/** undefined: pino's own default (asynchronous writes to fd 1, one per line). */
function stdout({ bufferBytes = 0, flushIntervalMs = 1000 }: LoggerOptions): DestinationStream | undefined {
  // sonic-boom refuses a minLength of its maxWrite (16 KiB) or more.
  if (!Number.isSafeInteger(bufferBytes) || bufferBytes < 0 || bufferBytes > 8192) {
    throw new TypeError('bufferBytes must be an integer from 0 to 8192');
  }
  if (!Number.isSafeInteger(flushIntervalMs) || flushIntervalMs < 1) {
    throw new TypeError('flushIntervalMs must be a positive integer');
  }
  if (bufferBytes === 0) return undefined;
  return pino.destination({ dest: 1, sync: false, minLength: bufferBytes, periodicFlush: flushIntervalMs });
}
