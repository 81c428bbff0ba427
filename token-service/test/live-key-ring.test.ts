import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevKeyStore, generateKey, readKeyStore, writeKeyStore } from '@gatehouse/keys';
import { createLogger, createMetrics, memoryAuditSink, createAuditLog } from '@gatehouse/observability';
import t from 'tap';
import { LiveKeyRing } from '../src/live-key-ring.ts';

async function setup(production = false) {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-lkr-'));
  const path = join(dir, 'keystore.json');
  const sink = memoryAuditSink();
  const options = {
    path,
    production,
    audit: createAuditLog('test', sink.stream),
    logger: createLogger('test', 'silent'),
    metrics: createMetrics('test', { defaults: false }),
  };
  return { path, options, audit: sink.records };
}

t.test('SIGHUP reloads the store', async (t) => {
  const { path, options, audit } = await setup();
  await ensureDevKeyStore(path);
  const ring = await LiveKeyRing.open(options);
  ring.watch({ files: false, signal: true });
  t.teardown(() => ring.close());
  const before = ring.publicJwks;
  const { store, key } = await generateKey(await readKeyStore(path), { alg: 'EdDSA', now: new Date() });
  await writeKeyStore(path, store);
  // A signal listener does not keep the event loop alive; this bounded timer does.
  const keepAlive = setTimeout(() => undefined, 5000);
  const changed = new Promise((resolve) => ring.once('change', resolve));
  process.kill(process.pid, 'SIGHUP');
  await changed;
  clearTimeout(keepAlive);
  t.ok(ring.current.has(key.kid), 'the new key is published');
  t.not(ring.publicJwks, before, 'a new JWKS object for validators that cache by identity');
  t.equal(ring.publicJwks, ring.publicJwks, 'and the same object until the next change');
  t.match(audit.find((r) => r.event === 'keys.reloaded'), { trigger: 'signal', active_kid: ring.current.activeKid });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(await ring.reload(), false, 'nothing changed: no new ring');
});

t.test('a corrupt or unreadable store stops start-up with a clear message and is never overwritten', async (t) => {
  const { path, options } = await setup();
  await writeFile(path, '{"version": 1, "keys": [');
  await t.rejects(LiveKeyRing.open(options), { code: 'KEYSTORE_CORRUPT' });
  t.equal(await readFile(path, 'utf8'), '{"version": 1, "keys": [', 'left as it was');
  const missing = await setup(true);
  await t.rejects(LiveKeyRing.open(missing.options), { code: 'KEYSTORE_NOT_FOUND' }, 'production never creates one');
});

t.test('production refuses a reload that brings development keys', async (t) => {
  const { path, options, audit } = await setup(true);
  const dev = await ensureDevKeyStore(path);
  const prod = { ...dev, keys: dev.keys.map(({ dev: _dev, ...k }) => k) };
  await writeKeyStore(path, prod);
  const ring = await LiveKeyRing.open(options);
  const kid = ring.current.activeKid;
  await writeKeyStore(path, dev);
  t.equal(await ring.reload(), false);
  t.equal(ring.current.activeKid, kid);
  t.match(audit.find((r) => r.event === 'keys.reload_refused'), { reason: 'KEYSTORE_DEV_KEYS' });
});
