/**
 * kafkajs logs through the deployable's pino logger (one log stream, one format), at the level
 * the pino logger is set to. Fields that could carry credentials never reach the log.
 */
import type { Logger } from '@gatehouse/observability';
import { type LogEntry, logLevel } from 'kafkajs';

const KAFKAJS_LEVEL: Record<string, logLevel> = {
  trace: logLevel.DEBUG,
  debug: logLevel.DEBUG,
  info: logLevel.INFO,
  warn: logLevel.WARN,
  error: logLevel.ERROR,
  fatal: logLevel.ERROR,
  silent: logLevel.NOTHING,
};

/** The kafkajs level matching a pino level, so kafkajs does not build entries pino would drop. */
export function kafkajsLevel(pinoLevel: string): logLevel {
  return KAFKAJS_LEVEL[pinoLevel] ?? logLevel.INFO;
}

// kafkajs does not log SASL settings today; this keeps it so if a future version, or
// KAFKAJS_DEBUG_PROTOCOL_BUFFERS, adds them.
const SECRET_FIELD = /sasl|password|secret|credential|buffer|payload/i;

function safeFields(log: LogEntry['log']): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(log)) {
    if (name === 'message' || name === 'timestamp' || name === 'logger' || SECRET_FIELD.test(name)) continue;
    fields[name] = value;
  }
  return fields;
}

// Bounded producer retries are deliberate (kafka.ts): kafkajs warns about them on every producer.
const EXPECTED_WARNING = /^Limiting retries for the idempotent producer/;

function pinoLevel(level: logLevel, message: string): 'error' | 'warn' | 'info' | 'debug' {
  if (level === logLevel.ERROR) return 'error';
  if (level === logLevel.WARN) return EXPECTED_WARNING.test(message) ? 'debug' : 'warn';
  if (level === logLevel.INFO) return 'info';
  return 'debug';
}

/** A kafkajs logCreator writing to `logger` (a child tagged lib: "kafkajs"). */
export function kafkajsLogCreator(logger: Logger) {
  const kafkaLogger = logger.child({ lib: 'kafkajs' });
  // kafkajs passes its own level first; the pino logger's level already decides what is written.
  return (_level: logLevel) =>
    ({ namespace, level, log }: LogEntry): void => {
      const message = String(log.message);
      kafkaLogger[pinoLevel(level, message)]({ ...safeFields(log), namespace }, message);
    };
}
