// Human and machine output of the CLI. Everything here works from an allow-list of non-secret
// fields; only k8sSecretManifest sees the whole store, because exporting it is its job.
import { activatableAt } from './lifecycle.ts';
import { serializeKeyStore } from './store.ts';
import type { KeyStoreFile, StoredKey } from './types.ts';

/** A key without its private material. */
export type KeySummary = Omit<StoredKey, 'privateJwk'>;

export function summarizeKey(key: StoredKey): KeySummary {
  const { privateJwk: _secret, ...summary } = key;
  return summary;
}

function shortTime(iso: string | undefined): string {
  return iso === undefined ? '-' : iso.replace(/\.\d{3}Z$/, 'Z');
}

function stateLabel(key: StoredKey): string {
  if (key.revokedAt !== undefined) return 'retired (revoked)';
  return key.dev ? `${key.state} (dev)` : key.state;
}

export function keyTable(store: KeyStoreFile): string {
  const header = ['KID', 'ALG', 'USE', 'STATE', 'CREATED', 'ACTIVATED', 'RETIRE-AFTER'];
  const rows = store.keys.map((key) => [
    key.kid,
    key.alg,
    key.use,
    stateLabel(key),
    shortTime(key.createdAt),
    shortTime(key.activatedAt),
    shortTime(key.retireAfter),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export interface StatusReport {
  store: string;
  checkedAt: string;
  jwksMaxAgeSeconds: number;
  activeKid: string | null;
  containsDevKeys: boolean;
  keys: (KeySummary & { activatableAt?: string; prunable?: boolean })[];
}

export function statusReport(
  store: KeyStoreFile,
  context: { path: string; now: Date; jwksMaxAgeSeconds: number },
): StatusReport {
  const keys = store.keys.map((key) => {
    const entry: StatusReport['keys'][number] = summarizeKey(key);
    const readyAt = activatableAt(key, context.jwksMaxAgeSeconds);
    if (readyAt !== undefined) entry.activatableAt = readyAt.toISOString();
    if (key.state === 'retiring')
      entry.prunable = new Date(key.retireAfter!).getTime() <= context.now.getTime();
    return entry;
  });
  return {
    store: context.path,
    checkedAt: context.now.toISOString(),
    jwksMaxAgeSeconds: context.jwksMaxAgeSeconds,
    activeKid: store.keys.find((key) => key.state === 'active')?.kid ?? null,
    containsDevKeys: store.keys.some((key) => key.dev === true && key.state !== 'retired'),
    keys,
  };
}

function statusLine(key: StatusReport['keys'][number], now: Date): string {
  const ready = (iso: string | undefined) =>
    iso !== undefined && new Date(iso).getTime() <= now.getTime() ? 'now' : shortTime(iso);
  switch (key.state) {
    case 'active':
      return `active    ${key.kid} (${key.alg}) signing since ${shortTime(key.activatedAt)}`;
    case 'next':
      return `next      ${key.kid} (${key.alg}) published ${shortTime(key.publishedAt)}, can be activated: ${ready(key.activatableAt)}`;
    case 'retiring':
      return `retiring  ${key.kid} (${key.alg}) verify only, can be pruned: ${ready(key.retireAfter)}`;
    case 'retired':
      return `revoked   ${key.kid} (${key.alg}) at ${shortTime(key.revokedAt)}`;
  }
}

export function statusText(report: StatusReport): string {
  const now = new Date(report.checkedAt);
  const lines = [`store: ${report.store}`, ...report.keys.map((key) => statusLine(key, now))];
  if (report.keys.length === 0) lines.push('no keys: run `generate`, then `activate <kid>`');
  if (report.activeKid === null && report.keys.length > 0) {
    lines.push('WARNING: no active key; the token service will refuse this store');
  }
  if (report.containsDevKeys) lines.push('WARNING: contains dev keys (generated for local development)');
  return lines.join('\n');
}

export const K8S_SECRET_NAME = 'gatehouse-signing-keys';

export function k8sSecretManifest(store: KeyStoreFile, options: { namespace?: string; now: Date }): string {
  const data = Buffer.from(serializeKeyStore(store), 'utf8').toString('base64');
  return [
    `# gatehouse-keys export --k8s, ${options.now.toISOString()}. Contains PRIVATE signing keys: apply it, never commit it.`,
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${K8S_SECRET_NAME}`,
    ...(options.namespace === undefined ? [] : [`  namespace: ${options.namespace}`]),
    '  labels:',
    '    app.kubernetes.io/part-of: gatehouse',
    'type: Opaque',
    'data:',
    `  keystore.json: ${data}`,
    '',
  ].join('\n');
}
