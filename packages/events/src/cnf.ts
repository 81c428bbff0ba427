/**
 * Step 4b: the confirmation key. The message token's cnf.jwk names the producer's public key
 * (RFC 7800); the token is verified by then, so the key is the token service's statement, but it is
 * still checked: a usable public signature key whose algorithm this consumer accepts.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { EventRefusal } from './errors.ts';

export interface ConfirmationKey {
  /** The algorithm the key dictates: the proof header must name this one, never choose another. */
  alg: string;
  kid?: string;
  key: KeyObject;
  /** The key's public members as JSON: how a signature pool's threads name (and import) it. */
  material: string;
}

/**
 * Imported keys by their public members: every event of a producer names the same key, and
 * importing it per record cost more than verifying the proof. Bounded: a flood of distinct keys
 * (each in a token the token service signed) only evicts the oldest.
 */
const imported = new Map<string, KeyObject>();
const MAX_IMPORTED = 1000;

/**
 * By the jwk object itself, first: a cached message token's claims are one frozen object, so every
 * record carrying that token names the same jwk, and its material need not be serialised again.
 */
const byObject = new WeakMap<object, { key: KeyObject; material: string }>();

function importPublicKey(jwk: Record<string, unknown>): { key: KeyObject; material: string } {
  const known = Object.isFrozen(jwk) ? byObject.get(jwk) : undefined;
  if (known !== undefined) return known;
  const imported = importByMaterial(jwk);
  if (Object.isFrozen(jwk)) byObject.set(jwk, imported);
  return imported;
}

function importByMaterial(jwk: Record<string, unknown>): { key: KeyObject; material: string } {
  const { kty, crv, x, y, n, e } = jwk;
  const material = JSON.stringify({ kty, crv, x, y, n, e });
  let key = imported.get(material);
  if (key === undefined) {
    key = publicKeyFromMaterial(material);
    if (imported.size >= MAX_IMPORTED) imported.delete(imported.keys().next().value!);
    imported.set(material, key);
  }
  return { key, material };
}

/** The public key named by ConfirmationKey.material (also what a signature pool's thread imports). */
export function publicKeyFromMaterial(material: string): KeyObject {
  return createPublicKey({ key: JSON.parse(material) as JsonWebKey, format: 'jwk' });
}

/** Members that only a private or symmetric key has: a cnf key carrying one was never meant for us. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** The usual algorithm of a key without alg (RSA keys have none obvious: they must carry alg). */
const IMPLIED_ALG: Record<string, string> = {
  'EC/P-256': 'ES256',
  'EC/P-384': 'ES384',
  'EC/P-521': 'ES512',
  'OKP/Ed25519': 'EdDSA',
};

function invalid(message: string, cause?: unknown): EventRefusal {
  return new EventRefusal('ERR_EVENT_CNF_INVALID', message, cause === undefined ? {} : { cause });
}

export async function confirmationKey(
  cnf: unknown,
  allowedAlgorithms: ReadonlySet<string>,
): Promise<ConfirmationKey> {
  const jwk = readJwk(cnf);
  const alg = keyAlgorithm(jwk);
  if (!allowedAlgorithms.has(alg)) throw invalid(`cnf key algorithm ${alg} is not accepted`);
  let imported: { key: KeyObject; material: string };
  try {
    imported = importPublicKey(jwk);
  } catch (error) {
    throw invalid('cnf key cannot be imported', error);
  }
  const result: ConfirmationKey = { alg, ...imported };
  if (typeof jwk.kid === 'string') result.kid = jwk.kid;
  return result;
}

function readJwk(cnf: unknown): Record<string, unknown> {
  if (!isObject(cnf)) throw invalid('token has no cnf');
  const { jwk } = cnf;
  if (!isObject(jwk)) throw invalid('cnf has no jwk');
  if (typeof jwk.kty !== 'string' || !['EC', 'OKP', 'RSA'].includes(jwk.kty)) {
    throw invalid('cnf key type is not a signature key type');
  }
  for (const member of PRIVATE_MEMBERS) {
    if (Object.hasOwn(jwk, member)) throw invalid('cnf key is not a public key');
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') throw invalid('cnf key is not a signature key');
  if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid === ''))
    throw invalid('cnf key kid is invalid');
  return jwk;
}

function keyAlgorithm(jwk: Record<string, unknown>): string {
  if (jwk.alg !== undefined) {
    if (typeof jwk.alg !== 'string' || jwk.alg === '') throw invalid('cnf key alg is invalid');
    return jwk.alg;
  }
  const implied = IMPLIED_ALG[`${String(jwk.kty)}/${String(jwk.crv)}`];
  if (implied === undefined) throw invalid('cnf key has no alg and none is implied by its type');
  return implied;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
