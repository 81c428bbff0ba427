// Store file I/O: strict reads that never modify, atomic writes, and ensureDevKeyStore.
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { KeyStoreError } from '../src/errors.ts';
import { ensureDevKeyStore, readKeyStore, serializeKeyStore, writeKeyStore } from '../src/store.ts';
import type { KeyStoreFile } from '../src/types.ts';
import { everyState, oneActive } from './fixtures.ts';

async function expectStoreError(
  t: { rejects: Test['rejects'] },
  promise: Promise<unknown>,
  code: string,
) {
  await t.rejects(promise, { name: 'KeyStoreError', code });
}

t.test('writeKeyStore then readKeyStore round-trips every state', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'keystore.json');
  const { store } = await everyState();
  await writeKeyStore(path, store);
  t.same(await readKeyStore(path), store);
  const text = await readFile(path, 'utf8');
  t.equal(
    text,
    serializeKeyStore(await readKeyStore(path)),
    'canonical: rewriting what was read is byte-identical',
  );
  t.match(text, /^\{\n {2}"version": 1,\n {2}"keys": \[\n/, 'indented JSON, version first');
  const fields = Object.keys(JSON.parse(text).keys[2]);
  t.equal(fields[0], 'kid');
  t.equal(fields.at(-1), 'privateJwk', 'metadata first, key material last');
});

t.test('writeKeyStore is atomic and private', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'nested', 'keystore.json');
  const { store } = await oneActive();
  await writeKeyStore(path, store);
  await writeKeyStore(path, store);
  t.same(await readdir(join(dir, 'nested')), ['keystore.json'], 'no temp files left behind');
  t.equal((await stat(path)).mode & 0o777, 0o600, 'store file is 0600');
  t.equal((await stat(join(dir, 'nested'))).mode & 0o777, 0o700, 'created directory is 0700');
});

t.test('a failed write leaves the old store and no temp file', async (t) => {
  const dir = t.testdir();
  // A non-empty directory where the store should be: the final rename fails after the temp file
  // has been written and fsynced, the worst moment for leftovers.
  const path = join(dir, 'keystore.json');
  await mkdir(join(path, 'occupied'), { recursive: true });
  const { store } = await oneActive();
  await expectStoreError(t, writeKeyStore(path, store), 'KEYSTORE_WRITE_FAILED');
  t.same((await readdir(dir)).sort(), ['keystore.json'], 'only the pre-existing entry, no temp file');
});

t.test('writeKeyStore refuses to write an invalid store and leaves the file alone', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'keystore.json');
  const { store } = await oneActive();
  await writeKeyStore(path, store);
  const before = await readFile(path, 'utf8');
  const broken = structuredClone(store) as KeyStoreFile;
  broken.keys.push({ ...broken.keys[0]! }); // duplicate kid, two active keys
  await expectStoreError(t, writeKeyStore(path, broken), 'KEYSTORE_INVALID');
  t.equal(await readFile(path, 'utf8'), before);
  t.same(await readdir(dir), ['keystore.json']);
});

t.test('readKeyStore refusals', async (t) => {
  const dir = t.testdir({
    'empty.json': '',
    'garbage.json': '{"version": 1, "keys": [ {"d": "SECRET-MATERIAL-abc" ',
    'array.json': '[]',
    'v2.json': JSON.stringify({ version: 2, keys: [] }),
    'extra.json': JSON.stringify({ version: 1, keys: [], note: 'x' }),
    'adir.json': {},
  });
  await expectStoreError(t, readKeyStore(join(dir, 'missing.json')), 'KEYSTORE_NOT_FOUND');
  await expectStoreError(t, readKeyStore(join(dir, 'adir.json')), 'KEYSTORE_UNREADABLE');
  await expectStoreError(t, readKeyStore(join(dir, 'empty.json', 'below-a-file')), 'KEYSTORE_UNREADABLE');
  await expectStoreError(t, readKeyStore(join(dir, 'empty.json')), 'KEYSTORE_CORRUPT');
  await expectStoreError(t, readKeyStore(join(dir, 'array.json')), 'KEYSTORE_CORRUPT');
  await t.rejects(readKeyStore(join(dir, 'v2.json')), {
    code: 'KEYSTORE_CORRUPT',
    message: /unsupported store version 2/,
  });
  await t.rejects(readKeyStore(join(dir, 'extra.json')), { code: 'KEYSTORE_CORRUPT', message: /note/ });

  const error = await readKeyStore(join(dir, 'garbage.json')).catch((e: unknown) => e);
  t.ok(error instanceof KeyStoreError);
  t.equal((error as KeyStoreError).code, 'KEYSTORE_CORRUPT');
  t.match((error as Error).message, /not valid JSON/);
  t.notMatch((error as Error).message, /SECRET-MATERIAL/, 'the message never quotes the file content');
  t.equal((error as Error).cause, undefined, 'nor does a cause carry the parser message');
});

t.test('readKeyStore refuses oversized files', async (t) => {
  const dir = t.testdir({ 'big.json': `{"version":1,"keys":[],"pad":"${'x'.repeat(1024 * 1024)}"}` });
  await t.rejects(readKeyStore(join(dir, 'big.json')), { code: 'KEYSTORE_CORRUPT', message: /byte limit/ });
});

t.test('readKeyStore never modifies the file, even a corrupt one', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"version":1,"keys":[{"kid":"x"}]}' });
  const path = join(dir, 'bad.json');
  const before = await stat(path);
  await expectStoreError(t, readKeyStore(path), 'KEYSTORE_CORRUPT');
  const after = await stat(path);
  t.equal(after.mtimeMs, before.mtimeMs);
  t.equal(await readFile(path, 'utf8'), '{"version":1,"keys":[{"kid":"x"}]}');
});

t.test('ensureDevKeyStore', async (t) => {
  t.test('creates a store with one active ES256 dev key in a private directory', async (t) => {
    const dir = t.testdir();
    const path = join(dir, '.gatehouse', 'keys', 'keystore.json');
    const store = await ensureDevKeyStore(path);
    t.equal(store.keys.length, 1);
    const [key] = store.keys;
    t.equal(key?.state, 'active');
    t.equal(key?.alg, 'ES256');
    t.equal(key?.dev, true);
    t.same(await readKeyStore(path), store, 'what it returns is what it wrote');
    t.equal((await stat(join(dir, '.gatehouse', 'keys'))).mode & 0o777, 0o700);
    t.equal((await stat(path)).mode & 0o777, 0o600);
    t.same(await readdir(join(dir, '.gatehouse', 'keys')), ['keystore.json'], 'no temp files');
  });

  t.test('returns an existing store unchanged', async (t) => {
    const dir = t.testdir();
    const path = join(dir, 'keystore.json');
    const { store } = await everyState();
    await writeKeyStore(path, store);
    const text = await readFile(path, 'utf8');
    t.same(await ensureDevKeyStore(path), store);
    t.equal(await readFile(path, 'utf8'), text);
  });

  t.test('never overwrites a corrupt store', async (t) => {
    const dir = t.testdir({ 'keystore.json': '{"version":1,"keys":[' });
    const path = join(dir, 'keystore.json');
    await expectStoreError(t, ensureDevKeyStore(path), 'KEYSTORE_CORRUPT');
    t.equal(
      await readFile(path, 'utf8'),
      '{"version":1,"keys":[',
      'corrupt file left for the operator to inspect',
    );
  });

  t.test('never overwrites an unreadable store', async (t) => {
    const dir = t.testdir({ 'keystore.json': {} });
    await expectStoreError(t, ensureDevKeyStore(join(dir, 'keystore.json')), 'KEYSTORE_UNREADABLE');
  });

  t.test('concurrent first starts agree on one store', async (t) => {
    const dir = t.testdir();
    const path = join(dir, 'keystore.json');
    const stores = await Promise.all([1, 2, 3, 4, 5].map(() => ensureDevKeyStore(path)));
    const kids = new Set(stores.map((store) => store.keys[0]?.kid));
    t.equal(kids.size, 1, 'every caller got the same key');
    t.same(await readdir(dir), ['keystore.json']);
  });

  t.test('reports a store it cannot create', async (t) => {
    // A dangling symlink: the store reads as absent, but its directory cannot be created.
    const dir = t.testdir({ link: t.fixture('symlink', '/nonexistent-gatehouse-test/dir') });
    const path = join(dir, 'link', 'keystore.json');
    await expectStoreError(t, ensureDevKeyStore(path), 'KEYSTORE_WRITE_FAILED');
  });
});
