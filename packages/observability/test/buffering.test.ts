// Buffered audit and log streams: records wait in memory until bufferBytes (or the flush
// interval, or flush()), and nothing recorded is lost by flush(); bad options fail loudly.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createAuditLog, createLogger, fingerprint, hashSubject } from '../src/index.ts';

const dir = await mkdtemp(join(tmpdir(), 'gatehouse-obs-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

/** The file's size; 0 when it does not exist. */
const size = async (file: string) => (await stat(file).catch(() => ({ size: 0 }))).size;

const lines = async (file: string) =>
  (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

t.test('a buffered audit log writes on flush(), every record in order', async (t) => {
  const file = join(dir, 'buffered', 'audit.jsonl');
  // A flush interval far beyond the test, so only the buffer size or flush() can write.
  const audit = createAuditLog('gateway', file, { bufferBytes: 4096, flushIntervalMs: 600_000 });
  for (let i = 0; i < 3; i += 1) audit.record({ event: 'auth.success', outcome: 'success', n: i });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(await size(file), 0, 'three small records stay in the buffer');
  await audit.flush();
  const records = await lines(file);
  t.same(
    records.map((r) => [r.event, r.n, r.component, r.stream]),
    [0, 1, 2].map((n) => ['auth.success', n, 'gateway', 'audit']),
  );
  t.equal((await stat(file)).mode & 0o777, 0o600, 'created private');
});

t.test('the buffer is written once it holds bufferBytes', async (t) => {
  const file = join(dir, 'full.jsonl');
  const audit = createAuditLog('gateway', file, { bufferBytes: 1024, flushIntervalMs: 600_000 });
  for (let i = 0; i < 40; i += 1) audit.record({ event: 'auth.success', outcome: 'success', pad: 'x'.repeat(40), n: i });
  // The write is asynchronous: wait until it lands (bounded), without calling flush().
  let written = 0;
  for (let attempt = 0; attempt < 100 && written === 0; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    written = await size(file);
  }
  t.ok(written >= 1024, 'written without flush() once the buffer was full');
  await audit.flush();
  t.equal((await lines(file)).length, 40, 'and nothing is lost');
});

t.test('unbuffered (the default) still writes every record', async (t) => {
  const file = join(dir, 'plain.jsonl');
  const audit = createAuditLog('token-service', file);
  audit.record({ event: 'token.issued', outcome: 'success' });
  await audit.flush();
  // Unbuffered, flush() does not wait for the write in flight: wait for it (bounded).
  let records = await lines(file);
  for (let attempt = 0; attempt < 100 && records.length === 0; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    records = await lines(file);
  }
  t.match(records, [{ event: 'token.issued', component: 'token-service' }]);
});

t.test('bad buffering options are programmer errors', async (t) => {
  const file = join(dir, 'bad.jsonl');
  t.throws(() => createAuditLog('x', file, { bufferBytes: -1 }), TypeError);
  t.throws(() => createAuditLog('x', file, { bufferBytes: 16 * 1024 }), TypeError);
  t.throws(() => createAuditLog('x', file, { bufferBytes: 1024, flushIntervalMs: 0 }), TypeError);
  t.throws(() => createLogger('x', 'info', undefined, { bufferBytes: 1.5 }), TypeError);
  t.throws(() => createLogger('x', 'info', undefined, { bufferBytes: 1024, flushIntervalMs: -1 }), TypeError);
});

t.test('fingerprints are stable, short and not the value', async (t) => {
  t.equal(fingerprint('secret'), fingerprint('secret'));
  t.equal(fingerprint('secret').length, 16);
  t.not(fingerprint('secret'), fingerprint('secret2'));
  t.match(hashSubject('alice'), /^sub_[A-Za-z0-9_-]{16}$/);
  t.equal(hashSubject(undefined), undefined);
});

t.test('a process that exits right after opening an audit file exits with its own code, records flushed', async (t) => {
  // A start-up refusal exits at once (78): the exit flush must find the file open, not throw
  // "sonic boom is not ready yet" out of process.exit.
  const file = join(dir, 'exit', 'audit.jsonl');
  const index = new URL('../src/index.ts', import.meta.url).href;
  const script = [
    `const { createAuditLog } = await import(${JSON.stringify(index)});`,
    `const audit = createAuditLog('gateway', ${JSON.stringify(file)}, { bufferBytes: 4096, flushIntervalMs: 600000 });`,
    `audit.record({ event: 'service.refused', outcome: 'failure' });`,
    'process.exit(78);',
  ].join('\n');
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  t.equal(child.status, 78, child.stderr);
  t.notMatch(child.stderr, /sonic boom/);
  t.same((await lines(file)).map((r) => r.event), ['service.refused'], 'the buffered record is written on exit');
});
