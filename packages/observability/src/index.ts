export { type AuditEvent, type AuditLog, createAuditLog, memoryAuditSink } from './audit.ts';
export { createLogger, type Logger, redactPaths } from './logger.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { fingerprint, hashSubject } from './redact.ts';
