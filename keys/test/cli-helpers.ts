// Drives the CLI as operators do: by spawning `node keys/src/cli.ts` against a temp store.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyStoreFile } from '../src/types.ts';
import { PRIVATE_MEMBERS } from './fixtures.ts';

export const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
export const PACKAGE = fileURLToPath(new URL('../package.json', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// The environment the CLI sees: nothing inherited that could point it at a real store.
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of Object.keys(env)) {
    if (name.startsWith('GATEHOUSE_') && !(name in extra)) delete env[name];
  }
  return env;
}

export function run(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: cleanEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A temp dir with store and audit paths, and a `cli` bound to them. */
export function workspace(dir: string) {
  const store = join(dir, 'keys', 'keystore.json');
  const audit = join(dir, 'audit', 'keys.jsonl');
  const cli = (...args: string[]) => run([...args, '--store', store, '--audit', audit], { cwd: dir });
  const readStore = async () => JSON.parse(await readFile(store, 'utf8')) as KeyStoreFile;
  const auditLines = async () =>
    existsSync(audit)
      ? (await readFile(audit, 'utf8'))
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
      : [];
  /** Store bytes and audit length, to prove a refusal changed nothing. */
  const snapshot = async () => ({
    store: existsSync(store) ? await readFile(store, 'utf8') : null,
    audit: (await auditLines()).length,
  });
  return { dir, store, audit, cli, readStore, auditLines, snapshot };
}

export function kidFrom(output: string): string {
  const match = /generated (\S+) \(/.exec(output);
  if (match === null) throw new Error(`no kid in: ${output}`);
  return match[1]!;
}

/** Private JWK members that appear as JSON properties in `text`; [] is what every output must give. */
export function privateMembersIn(text: string): string[] {
  return PRIVATE_MEMBERS.filter((member) => new RegExp(`"${member}"\\s*:`).test(text));
}
