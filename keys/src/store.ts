// Reading and writing the store file. Reads never modify the file; writes are atomic (temp file in
// the same directory, fsync, rename) so a crash leaves either the old or the new store, never half.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errnoCode, KeyStoreError } from './errors.ts';
import { createKeyMaterial } from './keygen.ts';
import { checkKeyStore } from './schema.ts';
import type { KeyStoreFile, StoredKey } from './types.ts';

// A real store is a few KiB; refusing huge files keeps a wrong path (a log, a disk image) from
// being slurped into memory.
const MAX_STORE_BYTES = 1024 * 1024;

export function serializeKeyStore(store: KeyStoreFile): string {
  return `${JSON.stringify(store, null, 2)}\n`;
}

function fsError(path: string, error: unknown): KeyStoreError {
  const code = errnoCode(error);
  if (code === 'ENOENT') {
    return new KeyStoreError('KEYSTORE_NOT_FOUND', `key store ${path} does not exist`, {
      path,
      cause: error,
    });
  }
  const reason = code ?? String(error);
  return new KeyStoreError('KEYSTORE_UNREADABLE', `key store ${path} cannot be read (${reason})`, {
    path,
    cause: error,
  });
}

async function readStoreBytes(path: string): Promise<string> {
  const info = await stat(path).catch((error: unknown) => {
    throw fsError(path, error);
  });
  if (!info.isFile()) {
    throw new KeyStoreError('KEYSTORE_UNREADABLE', `key store ${path} is not a regular file`, { path });
  }
  if (info.size > MAX_STORE_BYTES) {
    const message = `key store ${path} is ${info.size} bytes, over the ${MAX_STORE_BYTES} byte limit`;
    throw new KeyStoreError('KEYSTORE_CORRUPT', message, { path });
  }
  return readFile(path, 'utf8').catch((error: unknown) => {
    throw fsError(path, error);
  });
}

function parseStoreJson(path: string, text: string): unknown {
  if (text.trim() === '') {
    throw new KeyStoreError('KEYSTORE_CORRUPT', `key store ${path} is empty`, { path });
  }
  try {
    return JSON.parse(text);
  } catch {
    // Deliberately no cause and no parser message: V8 quotes a snippet of the input, which may be
    // private key material, and this message ends up in logs.
    throw new KeyStoreError('KEYSTORE_CORRUPT', `key store ${path} is not valid JSON`, { path });
  }
}

/** Reads and strictly validates the store. Throws KeyStoreError; never modifies the file. */
export async function readKeyStore(path: string): Promise<KeyStoreFile> {
  const input = parseStoreJson(path, await readStoreBytes(path));
  const result = await checkKeyStore(input);
  if (!result.ok) {
    const message = `key store ${path} is invalid:\n  ${result.problems.join('\n  ')}`;
    throw new KeyStoreError('KEYSTORE_CORRUPT', message, { path });
  }
  return result.store;
}

// Returns the validated copy: it is what gets written, in the schema's canonical field order.
async function assertWritable(path: string, store: KeyStoreFile): Promise<KeyStoreFile> {
  const result = await checkKeyStore(store);
  if (!result.ok) {
    const message = `refusing to write an invalid key store to ${path}:\n  ${result.problems.join('\n  ')}`;
    throw new KeyStoreError('KEYSTORE_INVALID', message, { path });
  }
  return result.store;
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

async function writeTempFile(tempPath: string, text: string): Promise<void> {
  // 'wx': never follow or reuse an existing file; 0600: the file holds private keys.
  const handle = await open(tempPath, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// Makes the rename itself durable. Some filesystems refuse fsync on a directory; the rename has
// happened regardless, so that is not worth failing the write for.
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort, see above
  }
}

async function publishTempFile(tempPath: string, path: string, exclusive: boolean): Promise<void> {
  if (exclusive) {
    // link() fails with EEXIST instead of replacing: create-if-absent without a race.
    await link(tempPath, path);
    await unlink(tempPath);
  } else {
    await rename(tempPath, path);
  }
}

async function atomicWrite(path: string, text: string, exclusive: boolean): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tempPath = tempPathFor(path);
  try {
    await writeTempFile(tempPath, text);
    await publishTempFile(tempPath, path, exclusive);
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

function writeFailed(path: string, error: unknown): KeyStoreError {
  const reason = errnoCode(error) ?? String(error);
  const message = `key store ${path} could not be written (${reason})`;
  return new KeyStoreError('KEYSTORE_WRITE_FAILED', message, { path, cause: error });
}

/** Validates, then atomically replaces the store file (temp file 0600 in the same dir, fsync, rename). */
export async function writeKeyStore(path: string, store: KeyStoreFile): Promise<void> {
  const valid = await assertWritable(path, store);
  try {
    await atomicWrite(path, serializeKeyStore(valid), false);
  } catch (error) {
    throw writeFailed(path, error);
  }
}

async function createDevStore(now: Date): Promise<KeyStoreFile> {
  const { kid, privateJwk } = await createKeyMaterial('ES256');
  const at = now.toISOString();
  // Active at once: a fresh dev store has no validators with a stale JWKS cache to wait for.
  const key: StoredKey = {
    kid,
    alg: 'ES256',
    use: 'sig',
    state: 'active',
    createdAt: at,
    publishedAt: at,
    activatedAt: at,
    dev: true,
    privateJwk,
  };
  return { version: 1, keys: [key] };
}

/**
 * Development convenience: returns the store at `path`, creating it with one active ES256 dev key
 * if (and only if) the file does not exist. A corrupt or unreadable store throws and is never
 * overwritten, and two processes starting together agree on one store.
 */
export async function ensureDevKeyStore(path: string): Promise<KeyStoreFile> {
  try {
    return await readKeyStore(path);
  } catch (error) {
    if (!(error instanceof KeyStoreError && error.code === 'KEYSTORE_NOT_FOUND')) throw error;
  }
  const store = await assertWritable(path, await createDevStore(new Date()));
  try {
    await atomicWrite(path, serializeKeyStore(store), true);
    return store;
  } catch (error) {
    // Another process created it first: theirs wins, and we use it rather than our own.
    if (errnoCode(error) === 'EEXIST') return readKeyStore(path);
    throw writeFailed(path, error);
  }
}
