/**
 * Step 4c's signature check: a JWS signature under the producer's cnf key, with node:crypto. The
 * one function is used by checkProof (proof-check.ts) on the event loop and inside the worker
 * threads of a signature pool (signature-pool.ts), so both paths accept exactly the same signatures.
 */
import { constants, type KeyObject, verify } from 'node:crypto';

const EC_CURVES: Record<string, { name: string; signatureBytes: number }> = {
  ES256: { name: 'prime256v1', signatureBytes: 64 },
  ES384: { name: 'secp384r1', signatureBytes: 96 },
  ES512: { name: 'secp521r1', signatureBytes: 132 },
};

/**
 * True when `signature` (base64url) is `alg`'s signature of `signingInput` under `key`. The
 * algorithm is the key's (the caller made the JWS header agree): a proof cannot pick how it is
 * verified. ES* signatures are JOSE's fixed-size r||s (IEEE P1363), not DER.
 */
export function signatureVerifies(key: KeyObject, alg: string, signingInput: string, signature: string): boolean {
  const data = Buffer.from(signingInput);
  const bytes = Buffer.from(signature, 'base64url');
  const bits = alg.slice(2);
  try {
    if (alg === 'EdDSA' || alg === 'Ed25519') {
      return key.asymmetricKeyType === 'ed25519' && verify(null, data, key, bytes);
    }
    if (alg.startsWith('ES')) {
      const curve = EC_CURVES[alg];
      if (curve === undefined || key.asymmetricKeyDetails?.namedCurve !== curve.name) return false;
      if (bytes.length !== curve.signatureBytes) return false;
      // The KeyObject itself and a DER signature: the { key, dsaEncoding: 'ieee-p1363' } form costs
      // ~80 µs more per ES256 check here (185 against 110 µs of CPU; bench in docs/events.md).
      return verify(`sha${bits}`, data, key, p1363ToDer(bytes));
    }
    if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') return false;
    if (alg.startsWith('RS')) return verify(`sha${bits}`, data, key, bytes);
    if (alg.startsWith('PS')) {
      const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 };
      return verify(`sha${bits}`, data, options, bytes);
    }
    return false;
  } catch {
    // A key that does not fit the algorithm, an unknown hash: not verified.
    return false;
  }
}

/**
 * JOSE's r||s (two big-endian integers of the curve's size) as the DER `SEQUENCE { INTEGER r,
 * INTEGER s }` OpenSSL verifies: each integer minimal (leading zero bytes dropped, one 0x00 added
 * when the high bit is set, so it stays positive). The length has one byte up to 127 (ES256,
 * ES384) and the 0x81 long form above (ES512). A zero r or s encodes as INTEGER 0, which the
 * verification refuses as it refuses it in r||s form.
 */
export function p1363ToDer(signature: Uint8Array): Buffer {
  const half = signature.length / 2;
  const r = derInteger(signature.subarray(0, half));
  const s = derInteger(signature.subarray(half));
  const bodyLength = r.length + s.length;
  const header = bodyLength < 0x80 ? [0x30, bodyLength] : [0x30, 0x81, bodyLength];
  return Buffer.concat([Uint8Array.from(header), r, s]);
}

function derInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const value = bytes.subarray(start);
  const pad = value[0]! & 0x80 ? 1 : 0;
  const out = new Uint8Array(2 + pad + value.length);
  out[0] = 0x02;
  out[1] = pad + value.length;
  out.set(value, 2 + pad);
  return out;
}
