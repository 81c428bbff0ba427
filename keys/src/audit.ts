// The CLI's audit log: one JSON line per key state change (and per export), appended and fsynced.
import { mkdir, open } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { CliError, EXIT } from './cli-support.ts';
import { errnoCode } from './errors.ts';
import type { KeyTransition } from './lifecycle.ts';

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    // Containers often run with a uid that has no passwd entry.
    return process.env.USER ?? process.env.LOGNAME ?? `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

export interface AuditRecord {
  time: string;
  event: string;
  kid: string | null;
  alg: string | null;
  from: string | null;
  to: string | null;
  actor: string;
  host: string;
  store: string;
  [extra: string]: unknown;
}

export interface AuditLog {
  append(records: AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** Opened before anything changes, so an unwritable audit log refuses the command up front. */
export async function openAuditLog(path: string): Promise<AuditLog> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const handle = await open(path, 'a', 0o600);
    return {
      async append(records) {
        if (records.length === 0) return;
        await handle.appendFile(records.map((record) => `${JSON.stringify(record)}\n`).join(''), 'utf8');
        await handle.sync();
      },
      close: () => handle.close(),
    };
  } catch (error) {
    throw new CliError(
      'AUDIT_FAILED',
      `audit log ${path} cannot be opened (${errnoCode(error) ?? String(error)})`,
      EXIT.AUDIT,
    );
  }
}

/** Audit records carry identifiers and states only, never key material. */
export function auditRecords(
  event: string,
  changes: readonly KeyTransition[],
  context: { now: Date; store: string; extra?: Record<string, unknown> },
): AuditRecord[] {
  const who = { actor: osUser(), host: hostname(), store: context.store };
  return changes.map((change) => ({
    time: context.now.toISOString(),
    event,
    kid: change.kid,
    alg: change.alg,
    from: change.from,
    to: change.to,
    ...(change.retireAfter === undefined ? {} : { retireAfter: change.retireAfter }),
    ...who,
    ...context.extra,
  }));
}

export function exportAuditRecord(
  kids: string[],
  context: { now: Date; store: string; extra?: Record<string, unknown> },
): AuditRecord {
  return {
    time: context.now.toISOString(),
    event: 'key.export',
    kid: null,
    alg: null,
    from: null,
    to: null,
    actor: osUser(),
    host: hostname(),
    store: context.store,
    kids,
    ...context.extra,
  };
}
