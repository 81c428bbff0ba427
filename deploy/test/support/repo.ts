// Reading the deployment files as data: the repository's paths, YAML documents, and what
// `kubectl kustomize k8s` would apply (resources plus generated ConfigMaps), without kubectl.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const repoPath = (...parts: string[]) => join(ROOT, ...parts);
export const readText = (...parts: string[]) => readFileSync(repoPath(...parts), 'utf8');

// Manifests are open-ended documents: tests read them as plain nested records.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = Record<string, any>;

export function yamlFile(...parts: string[]): Doc {
  return parse(readText(...parts)) as Doc;
}

export function yamlDocs(...parts: string[]): Doc[] {
  return parseAllDocuments(readText(...parts))
    .map((doc) => doc.toJS() as Doc | null)
    .filter((doc): doc is Doc => doc !== null);
}

/** The kustomization's resources and generated ConfigMaps (unhashed names), in order. */
export function kustomizeK8s(): Doc[] {
  const kustomization = yamlFile('k8s', 'kustomization.yaml');
  const docs = (kustomization.resources as string[]).flatMap((file) => yamlDocs('k8s', file));
  for (const generator of (kustomization.configMapGenerator ?? []) as Doc[]) {
    const data = Object.fromEntries(
      (generator.files as string[]).map((file) => [basename(file), readText('k8s', file)]),
    );
    docs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name }, data });
  }
  return docs;
}

/** `${NAME:-default}` → default; anything else as is. */
export function composeDefault(value: string): string {
  const match = /^(.*)\$\{[A-Z0-9_]+:-([^}]*)\}(.*)$/.exec(value);
  return match ? `${match[1]}${match[2]}${match[3]}` : value;
}

/** The path of a command, or undefined when it is not installed. */
export function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = result.stdout.trim();
  return result.status === 0 && path !== '' && existsSync(path) ? path : undefined;
}

export function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}
