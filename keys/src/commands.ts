// One function per CLI command. Mutations go through `mutate` (cli-context.ts); the rules
// themselves live in lifecycle.ts, so this file only translates between flags and output.
import { exportAuditRecord, openAuditLog } from './audit.ts';
import { type Context, jwksMaxAge, mutate, type OptionName, readExisting, retention } from './cli-context.ts';
import { CliError, EXIT, usage } from './cli-support.ts';
import { k8sSecretManifest, keyTable, statusReport, statusText } from './format.ts';
import { activateKey, emergencyRevoke, generateKey, pruneKeys, retireKey } from './lifecycle.ts';

export interface CommandSpec {
  /** Whether the command takes a <kid>. */
  kid: boolean;
  /** Options beyond GLOBAL_OPTIONS. */
  options: OptionName[];
  run: (context: Context) => Promise<void>;
}

async function listCommand(context: Context): Promise<void> {
  const store = await readExisting(context);
  context.io.out(`store: ${context.storePath}`);
  context.io.out(store.keys.length === 0 ? 'no keys' : keyTable(store));
}

async function statusCommand(context: Context): Promise<void> {
  const store = await readExisting(context);
  const at = { path: context.storePath, now: context.now, jwksMaxAgeSeconds: jwksMaxAge(context) };
  const report = statusReport(store, at);
  context.io.out(context.values.json === true ? JSON.stringify(report, null, 2) : statusText(report));
}

async function generateCommand(context: Context): Promise<void> {
  const maxAge = jwksMaxAge(context);
  const alg = typeof context.values.alg === 'string' ? context.values.alg : 'ES256';
  const apply = async (store: Parameters<typeof generateKey>[0]) => {
    const { store: updated, key, changes } = await generateKey(store, { alg, now: context.now });
    const readyAt = new Date(context.now.getTime() + maxAge * 1000).toISOString();
    const report = () => {
      context.io.out(`generated ${key.kid} (${key.alg}), state next: published in JWKS, not signing`);
      context.io.out(`it can be activated from ${readyAt} (validators' JWKS max cache age ${maxAge}s):`);
      context.io.out(`  npm run keys -- activate ${key.kid}`);
    };
    return { store: updated, changes, report };
  };
  await mutate(context, 'key.generate', apply, { createIfMissing: true });
}

async function activateCommand(context: Context): Promise<void> {
  const force = context.values.force === true;
  const options = { now: context.now, jwksMaxAgeSeconds: jwksMaxAge(context), force, ...retention(context) };
  await mutate(context, 'key.activate', (store) => {
    const result = activateKey(store, context.kid, options);
    const report = () => {
      for (const warning of result.warnings) context.io.err(`WARNING: ${warning}`);
      for (const change of result.changes) {
        const until = change.retireAfter === undefined ? '' : `, retained until ${change.retireAfter}`;
        context.io.out(`${change.kid}: ${change.from} -> ${change.to}${until}`);
      }
    };
    const auditExtra = force ? { forced: true, warnings: result.warnings } : {};
    return { ...result, auditExtra, report };
  });
}

async function retireCommand(context: Context): Promise<void> {
  await mutate(context, 'key.retire', (store) => {
    const result = retireKey(store, context.kid, { now: context.now });
    const report = () => {
      for (const change of result.changes) {
        const note = `never signed, can be pruned from ${change.retireAfter}`;
        context.io.out(`${change.kid}: ${change.from} -> ${change.to} (${note})`);
      }
    };
    return { ...result, report };
  });
}

async function pruneCommand(context: Context): Promise<void> {
  await mutate(context, 'key.prune', (store) => {
    const result = pruneKeys(store, { now: context.now });
    const report = () => {
      for (const key of result.removed)
        context.io.out(`removed ${key.kid}: retention ended ${key.retireAfter}`);
      if (result.removed.length === 0) context.io.out('nothing to prune');
      for (const { kid, reason } of result.kept) context.io.out(`kept ${kid}: ${reason}`);
    };
    return { ...result, report };
  });
}

async function emergencyRevokeCommand(context: Context): Promise<void> {
  const jwksMaxAgeSeconds = jwksMaxAge(context);
  await mutate(context, 'key.emergency-revoke', (store) => {
    const result = emergencyRevoke(store, context.kid, { now: context.now, jwksMaxAgeSeconds });
    const report = () => {
      context.io.out(`REVOKED ${context.kid}. Consequences:`);
      for (const line of result.consequences) context.io.out(`  - ${line}`);
      context.io.out(
        'Deploy the store now: the token service reloads it on file change or SIGHUP; on Kubernetes',
      );
      context.io.out(
        '  npm run keys -- export --k8s | kubectl apply -f -. Then destroy old copies and backups.',
      );
    };
    return { ...result, auditExtra: { consequences: result.consequences }, report };
  });
}

// RFC 1123 label: also keeps anything YAML-significant out of the manifest.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function exportNamespace(context: Context): string | undefined {
  const namespace = context.values.namespace;
  if (typeof namespace !== 'string') return undefined;
  if (NAMESPACE.test(namespace)) return namespace;
  throw usage(
    `--namespace must be a Kubernetes namespace name (RFC 1123 label), got ${JSON.stringify(namespace)}`,
  );
}

// Dev keys were generated on a workstation and activated without waiting: not for a cluster.
function checkNoDevKeys(context: Context, kids: string[]): void {
  if (kids.length === 0) return;
  if (context.values.force !== true) {
    const message = `refusing to export dev keys (${kids.join(', ')}), generated for local development; --force exports anyway`;
    throw new CliError('DEV_KEYS_IN_EXPORT', message, EXIT.REFUSED);
  }
  context.io.err(`WARNING: exporting dev keys ${kids.join(', ')} (--force)`);
}

async function exportCommand(context: Context): Promise<void> {
  if (context.values.k8s !== true) throw usage('export needs a format: --k8s (the only one supported)');
  const namespace = exportNamespace(context);
  const store = await readExisting(context);
  checkNoDevKeys(
    context,
    store.keys.filter((key) => key.dev === true && key.privateJwk !== undefined).map((key) => key.kid),
  );
  // Private keys leave the store here, so the export is audited, and before anything is printed.
  const audit = await openAuditLog(context.auditPath);
  const extra = namespace === undefined ? { format: 'k8s' } : { format: 'k8s', namespace };
  const record = exportAuditRecord(
    store.keys.map((key) => key.kid),
    { now: context.now, store: context.storePath, extra },
  );
  try {
    await audit.append([record]);
  } catch (error) {
    throw new CliError(
      'AUDIT_FAILED',
      `audit log ${context.auditPath} could not be written: ${error}`,
      EXIT.AUDIT,
    );
  } finally {
    await audit.close();
  }
  const manifestOptions = namespace === undefined ? { now: context.now } : { now: context.now, namespace };
  context.io.out(k8sSecretManifest(store, manifestOptions).trimEnd());
}

/** Accepted by every command, so operators can keep them in an alias or the environment. */
export const GLOBAL_OPTIONS: readonly OptionName[] = [
  'store',
  'audit',
  'jwks-max-age',
  'max-token-lifetime',
  'replay-window',
  'help',
];

export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  list: { kid: false, options: [], run: listCommand },
  status: { kid: false, options: ['json'], run: statusCommand },
  generate: { kid: false, options: ['alg'], run: generateCommand },
  activate: { kid: true, options: ['force'], run: activateCommand },
  retire: { kid: true, options: [], run: retireCommand },
  prune: { kid: false, options: [], run: pruneCommand },
  'emergency-revoke': { kid: true, options: [], run: emergencyRevokeCommand },
  export: { kid: false, options: ['k8s', 'namespace', 'force'], run: exportCommand },
};
