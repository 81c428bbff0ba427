// A reader that goes away mid-command (`gatehouse-keys generate | head -c 10`): the command still
// finishes. Its change is audited and the store lock released, as when the output is read.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import { CLI, workspace } from './cli-helpers.ts';

t.setTimeout(60_000);

/** Runs the CLI with its stdout closed before it writes: its first write fails with EPIPE. */
function runWithClosedStdout(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

t.test('generate with nobody reading its output: audited, unlocked, exit 0', async (t) => {
  const w = workspace(t.testdir());
  const closed = await runWithClosedStdout(['generate', '--store', w.store, '--audit', w.audit], w.dir);
  t.equal(closed.code, 0, closed.stderr);
  t.notMatch(closed.stderr, /EPIPE/, 'no crash report');
  t.equal((await w.readStore()).keys.length, 1, 'the key was generated');
  t.same((await w.auditLines()).map((line) => line.event), ['key.generate'], 'and audited');
  t.notOk(existsSync(`${w.store}.lock`), 'the store lock is released');
  const next = await w.cli('generate');
  t.equal(next.code, 0, `the next run is not locked out: ${next.stderr}`);
});
