// Runs the deployment shell scripts (k8s/kafka/*.sh, k8s/postgres/init.sh) as the containers do:
// bash, a clean environment plus the settings given, and, for Kafka, stand-ins for Kafka's CLI
// tools that record how they were called.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from './repo.ts';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runScript(script: string, env: Record<string, string>, args: string[] = []): Run {
  const result = spawnSync('bash', [repoPath(script), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// One stand-in for every tool: logs its name and arguments (tab-separated, one call a line), keeps
// a copy of the files it was handed, and fails when told to.
const STUB = `#!/bin/bash
tool=$(basename "$0" .sh)
{ printf '%s' "$tool"; printf '\\t%s' "$@"; printf '\\n'; } >>"$STUB_DIR/calls.log"
previous=
for arg in "$@"; do
  case "$previous" in
    --add-config-file) { printf 'FILE\\t'; cat "$arg"; } >>"$STUB_DIR/calls.log" ;;
    --command-config) cp "$arg" "$STUB_DIR/command-config.properties" ;;
  esac
  previous=$arg
done
[ "$tool" = kafka-server-start ] && cp "$1" "$STUB_DIR/server.properties" && env >"$STUB_DIR/server-env"
fail_var="STUB_FAIL_\${tool//-/_}"
exit "\${!fail_var:-0}"
`;

const TOOLS = ['kafka-storage', 'kafka-server-start', 'kafka-broker-api-versions', 'kafka-configs', 'kafka-topics', 'kafka-acls'];

/** A fake KAFKA_HOME in dir; calls() reads what the tools were asked, one array per call. */
export function stubKafka(dir: string) {
  const bin = join(dir, 'kafka', 'bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of TOOLS) {
    writeFileSync(join(bin, `${tool}.sh`), STUB);
    chmodSync(join(bin, `${tool}.sh`), 0o755);
  }
  const log = join(dir, 'calls.log');
  return {
    home: join(dir, 'kafka'),
    env: { KAFKA_HOME: join(dir, 'kafka'), STUB_DIR: dir, TMPDIR: dir },
    calls(): string[][] {
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => line.split('\t'));
    },
    file(name: string): string {
      return readFileSync(join(dir, name), 'utf8');
    },
  };
}
