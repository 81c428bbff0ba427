// Argument parsing, help and exit statuses. A refused command (any non-zero exit) changes nothing.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type CliIo, type Context, DEFAULT_AUDIT_PATH, DEFAULT_STORE_PATH, OPTIONS } from './cli-context.ts';
import { CliError, EXIT, usage } from './cli-support.ts';
import { COMMANDS, type CommandSpec, GLOBAL_OPTIONS } from './commands.ts';
import { KeyLifecycleError, KeyStoreError } from './errors.ts';

export type { CliIo } from './cli-context.ts';
export { EXIT } from './cli-support.ts';

const HELP = `gatehouse-keys: manage Gatehouse signing keys

usage: npm run keys -- <command> [options]      (or: gatehouse-keys <command> [options])

commands:
  list                       table of keys (kid, alg, use, state, created, activated, retire-after)
  status [--json]            what can be done next; --json for scripts (never private material)
  generate [--alg ALG]       add a key in state next (ALG: ES256 (default), EdDSA, RS256)
  activate <kid> [--force]   next -> active once published for --jwks-max-age; previous active -> retiring
  retire <kid>               next -> retiring (the active key is replaced with activate, never retired)
  prune                      remove retiring keys whose retention has passed; says what it keeps and why
  emergency-revoke <kid>     compromised key: unpublish at once and delete its private key
  export --k8s [--namespace NS]  print a Kubernetes Secret (gatehouse-signing-keys) holding the store

options (all commands):
  --store PATH               key store (env GATEHOUSE_KEYSTORE, default ${DEFAULT_STORE_PATH})
  --audit PATH               audit log, JSON lines (env GATEHOUSE_AUDIT_LOG, default ${DEFAULT_AUDIT_PATH})
  --jwks-max-age DUR         validators' JWKS max cache age (env GATEHOUSE_JWKS_MAX_AGE, default 10m)
  --max-token-lifetime DUR   longest token lifetime (env GATEHOUSE_MAX_TOKEN_LIFETIME, default 24h)
  --replay-window DUR        replay window (env GATEHOUSE_REPLAY_WINDOW, default 7d)
  DUR: seconds, or a number with s, m, h or d (600, 10m, 24h, 7d)

exit status: 0 ok, 1 refused by a lifecycle rule, 2 usage error,
  3 key store missing/unreadable/corrupt/locked/not writable, 4 audit log not writable, 70 internal error`;

// A kid is a base64url thumbprint and starts with '-' for 1 key in 64; parseArgs would read it as
// options. Such an argument goes to parseArgs as a placeholder that cannot be an option, in its
// place, and comes back as itself: `activate <kid> extra` names "extra" as the argument too many,
// whichever way the kid starts.
const KID_SHAPE = /^-[A-Za-z0-9_-]{42}$/;
const PLACEHOLDER = '\u0000kid:';

function parse(argv: string[]) {
  const kids: string[] = [];
  const args = argv.map((arg) => (KID_SHAPE.test(arg) ? `${PLACEHOLDER}${kids.push(arg) - 1}` : arg));
  const restore = (arg: string) => (arg.startsWith(PLACEHOLDER) ? kids[Number(arg.slice(PLACEHOLDER.length))]! : arg);
  try {
    const parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    const values = Object.fromEntries(
      Object.entries(parsed.values).map(([name, value]) => [name, typeof value === 'string' ? restore(value) : value]),
    ) as typeof parsed.values;
    return { values, positionals: parsed.positionals.map(restore) };
  } catch (error) {
    throw usage(error instanceof Error ? error.message : String(error));
  }
}

function checkOptions(name: string, spec: CommandSpec, values: Context['values']): void {
  const allowed = new Set<string>([...GLOBAL_OPTIONS, ...spec.options]);
  const unexpected = Object.keys(values).filter((option) => !allowed.has(option));
  if (unexpected.length === 0) return;
  throw usage(`${name} does not take ${unexpected.map((option) => `--${option}`).join(', ')}`);
}

function checkPositionals(name: string, spec: CommandSpec, positionals: string[]): string {
  const expected = spec.kid ? 1 : 0;
  if (positionals.length < expected) throw usage(`${name} needs a <kid> (see: npm run keys -- list)`);
  if (positionals.length > expected) {
    throw usage(`${name}: unexpected argument ${JSON.stringify(positionals[expected])}`);
  }
  return positionals[0] ?? '';
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof KeyLifecycleError) return EXIT.REFUSED;
  if (error instanceof KeyStoreError) return EXIT.KEYSTORE;
  return EXIT.INTERNAL;
}

function describeError(error: unknown): string {
  if (error instanceof CliError || error instanceof KeyLifecycleError || error instanceof KeyStoreError) {
    return `error [${error.code}]: ${error.message}`;
  }
  return `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

async function dispatch(argv: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parse(argv);
  const [name, ...rest] = positionals;
  if (name === undefined && values.help !== true) {
    io.err(HELP);
    throw usage('no command given');
  }
  if (name === undefined || name === 'help') return io.out(HELP);
  const spec = COMMANDS[name];
  if (spec === undefined) {
    throw usage(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})`);
  }
  if (values.help === true) return io.out(HELP);
  checkOptions(name, spec, values);
  const kid = checkPositionals(name, spec, rest);
  const storePath = resolve(io.cwd, values.store ?? (io.env.GATEHOUSE_KEYSTORE || DEFAULT_STORE_PATH));
  const auditPath = resolve(io.cwd, values.audit ?? (io.env.GATEHOUSE_AUDIT_LOG || DEFAULT_AUDIT_PATH));
  await spec.run({ io, values, kid, storePath, auditPath, now: new Date() });
}

/** Runs one CLI invocation and returns its exit status; all output goes through `io`. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    await dispatch(argv, io);
    return EXIT.OK;
  } catch (error) {
    io.err(describeError(error));
    return exitCodeFor(error);
  }
}
