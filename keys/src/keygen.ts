// Fresh key material. The kid is the RFC 7638 thumbprint: derived from the key itself, so it cannot
// collide by accident and anyone holding the public key can recompute it.
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { KeyLifecycleError } from './errors.ts';
import { KEY_ALGS, type KeyAlg, type PrivateJwk } from './types.ts';

export function isKeyAlg(value: unknown): value is KeyAlg {
  return typeof value === 'string' && (KEY_ALGS as readonly string[]).includes(value);
}

export function assertKeyAlg(value: unknown): KeyAlg {
  if (isKeyAlg(value)) return value;
  throw new KeyLifecycleError(
    'BAD_ALG',
    `unsupported alg ${JSON.stringify(value)}: use one of ${KEY_ALGS.join(', ')}`,
  );
}

export async function createKeyMaterial(alg: KeyAlg): Promise<{ kid: string; privateJwk: PrivateJwk }> {
  // 2048-bit RSA is jose's and oidc-provider's default and sufficient for keys rotated routinely.
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const privateJwk = (await exportJWK(privateKey)) as PrivateJwk;
  const kid = await calculateJwkThumbprint(privateJwk, 'sha256');
  return { kid, privateJwk };
}
