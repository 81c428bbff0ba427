// Strict schema for the store file. A store that fails any check is refused as a whole: signing with
// a half-understood key set is worse than not starting (the token service stops with the message).
import { calculateJwkThumbprint } from 'jose';
import { z } from 'zod';
import type { KeyStoreFile, StoredKey } from './types.ts';

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');
// 32-byte values (P-256 coordinates and scalar, Ed25519 keys) are 43 base64url characters.
const bytes32 = base64url.length(43, 'must encode 32 bytes');
const timestamp = z.iso.datetime({ message: 'must be an ISO 8601 UTC timestamp' });

const ecJwk = z.strictObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: bytes32,
  y: bytes32,
  d: bytes32,
});
const okpJwk = z.strictObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: bytes32, d: bytes32 });
const rsaJwk = z.strictObject({
  kty: z.literal('RSA'),
  // 2048 bits = 256 bytes = 342 base64url characters; shorter moduli are not acceptable for RS256.
  n: base64url.min(342, 'RSA modulus must be at least 2048 bits'),
  e: base64url,
  d: base64url,
  p: base64url,
  q: base64url,
  dp: base64url,
  dq: base64url,
  qi: base64url,
});

const storedKey = z.strictObject({
  kid: base64url.max(128),
  alg: z.enum(['ES256', 'EdDSA', 'RS256'], { message: 'must be ES256, EdDSA or RS256' }),
  use: z.literal('sig'),
  state: z.enum(['next', 'active', 'retiring', 'retired'], {
    message: 'must be next, active, retiring or retired',
  }),
  createdAt: timestamp,
  publishedAt: timestamp.optional(),
  activatedAt: timestamp.optional(),
  retiringAt: timestamp.optional(),
  retireAfter: timestamp.optional(),
  revokedAt: timestamp.optional(),
  dev: z.literal(true).optional(),
  privateJwk: z.discriminatedUnion('kty', [ecJwk, okpJwk, rsaJwk]).optional(),
});

// The annotation makes the compiler prove the schema produces exactly the documented types.
export const keyStoreFileSchema: z.ZodType<KeyStoreFile> = z.strictObject({
  version: z.literal(1),
  // A handful of keys is normal; hundreds means something is looping.
  keys: z.array(storedKey).max(100),
});

type FieldName = 'publishedAt' | 'activatedAt' | 'retiringAt' | 'retireAfter' | 'revokedAt' | 'privateJwk';

// Which optional fields each state must and must not carry; this is what makes a state meaningful
// (e.g. a retiring key without retireAfter could never be pruned safely).
const FIELDS_BY_STATE: Record<StoredKey['state'], { required: FieldName[]; forbidden: FieldName[] }> = {
  next: {
    required: ['publishedAt', 'privateJwk'],
    forbidden: ['activatedAt', 'retiringAt', 'retireAfter', 'revokedAt'],
  },
  active: {
    required: ['publishedAt', 'activatedAt', 'privateJwk'],
    forbidden: ['retiringAt', 'retireAfter', 'revokedAt'],
  },
  retiring: {
    required: ['publishedAt', 'retiringAt', 'retireAfter', 'privateJwk'],
    forbidden: ['revokedAt'],
  },
  // Revoked keys must not keep private material: that is the point of revoking.
  retired: { required: ['revokedAt'], forbidden: ['privateJwk'] },
};

const KTY_BY_ALG: Record<StoredKey['alg'], string> = { ES256: 'EC', EdDSA: 'OKP', RS256: 'RSA' };

function checkStateFields(key: StoredKey): string[] {
  const rule = FIELDS_BY_STATE[key.state];
  const missing = rule.required.filter((field) => key[field] === undefined);
  const extra = rule.forbidden.filter((field) => key[field] !== undefined);
  return [
    ...missing.map((field) => `state ${key.state} requires ${field}`),
    ...extra.map((field) => `state ${key.state} must not have ${field}`),
  ];
}

function checkAlgMatchesKeyType(key: StoredKey): string[] {
  if (key.privateJwk === undefined || key.privateJwk.kty === KTY_BY_ALG[key.alg]) return [];
  return [`alg ${key.alg} needs a ${KTY_BY_ALG[key.alg]} key, found ${key.privateJwk.kty}`];
}

// A kid that is not the key's thumbprint means the file was edited by hand or keys were mixed up;
// validators would then look up the wrong key for a token.
async function checkKidIsThumbprint(key: StoredKey): Promise<string[]> {
  if (key.privateJwk === undefined) return [];
  const thumbprint = await calculateJwkThumbprint(key.privateJwk, 'sha256');
  return thumbprint === key.kid ? [] : ['kid is not the RFC 7638 thumbprint of its key'];
}

function checkUniqueKids(store: KeyStoreFile): string[] {
  const seen = new Set<string>();
  const duplicates = store.keys.filter((key) => seen.size === seen.add(key.kid).size);
  return duplicates.map((key) => `kid ${key.kid} appears more than once`);
}

function checkAtMostOneActive(store: KeyStoreFile): string[] {
  const active = store.keys.filter((key) => key.state === 'active');
  return active.length > 1
    ? [`${active.length} keys are active (${active.map((k) => k.kid).join(', ')}); at most one may be`]
    : [];
}

function formatZodIssues(error: z.ZodError): string[] {
  // Messages only, never the offending input: a store value may be private key material.
  return error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`,
  );
}

function checkVersion(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return ['(root): must be a JSON object'];
  const version = (input as { version?: unknown }).version;
  if (version === 1) return [];
  return [
    `version: unsupported store version ${JSON.stringify(version) ?? 'undefined'} (this build reads version 1)`,
  ];
}

export type KeyStoreCheck = { ok: true; store: KeyStoreFile } | { ok: false; problems: string[] };

/** Validates an already-parsed store; returns every problem found (not only the first). */
export async function checkKeyStore(input: unknown): Promise<KeyStoreCheck> {
  const versionProblems = checkVersion(input);
  if (versionProblems.length > 0) return { ok: false, problems: versionProblems };
  const parsed = keyStoreFileSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: formatZodIssues(parsed.error) };
  const store = parsed.data;
  const perKey = await Promise.all(
    store.keys.map(async (key, index) => {
      const problems = [
        ...checkStateFields(key),
        ...checkAlgMatchesKeyType(key),
        ...(await checkKidIsThumbprint(key)),
      ];
      return problems.map((problem) => `keys.${index} (kid ${key.kid}): ${problem}`);
    }),
  );
  const problems = [...perKey.flat(), ...checkUniqueKids(store), ...checkAtMostOneActive(store)];
  return problems.length > 0 ? { ok: false, problems } : { ok: true, store };
}
