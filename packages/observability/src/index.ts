export { type AuditEvent, type AuditLog, type AuditLogOptions, createAuditLog, memoryAuditSink } from './audit.ts';
export { createLogger, type Logger, type LoggerOptions, redactPaths } from './logger.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { fingerprint, hashSubject } from './redact.ts';
