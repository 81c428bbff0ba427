/**
 * ECDSA signatures as JOSE wants them. node:crypto signs in DER (`SEQUENCE { INTEGER r, INTEGER s }`)
 * unless asked for IEEE P1363 (`{ key, dsaEncoding: 'ieee-p1363' }`), and that option form costs
 * ~75 µs more per ES256 signature on the bench machine (121 against 46 µs of CPU: the `{ key }`
 * object is re-examined on every call), more than this conversion by far. JWS (RFC 7518 3.4) wants
 * r||s, each big-endian and left-padded to the curve's size.
 */

export class SignatureEncodingError extends Error {
  readonly code = 'ERR_SIGNATURE_ENCODING';
  constructor(message: string) {
    super(message);
    this.name = 'SignatureEncodingError';
  }
}

/** A DER ECDSA signature as r||s of `size` bytes each (32 for P-256). Throws on anything else. */
export function derToP1363(der: Uint8Array, size: number): Buffer {
  let at = 0;
  const byte = () => {
    if (at >= der.length) throw new SignatureEncodingError('DER signature is truncated');
    return der[at++]!;
  };
  const length = () => {
    const first = byte();
    if (first < 0x80) return first;
    if (first !== 0x81) throw new SignatureEncodingError('DER length form not expected here');
    return byte();
  };
  if (byte() !== 0x30) throw new SignatureEncodingError('DER signature is not a SEQUENCE');
  if (length() !== der.length - at) throw new SignatureEncodingError('DER SEQUENCE length is wrong');
  const out = Buffer.alloc(2 * size);
  for (let half = 0; half < 2; half++) {
    if (byte() !== 0x02) throw new SignatureEncodingError('DER signature part is not an INTEGER');
    const n = length();
    if (n === 0 || at + n > der.length) throw new SignatureEncodingError('DER INTEGER length is wrong');
    let value = der.subarray(at, at + n);
    at += n;
    // The sign byte DER adds to a value whose high bit is set; values are never negative here.
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw new SignatureEncodingError('DER INTEGER is larger than the curve');
    out.set(value, half * size + size - value.length);
  }
  if (at !== der.length) throw new SignatureEncodingError('data after the DER signature');
  return out;
}
