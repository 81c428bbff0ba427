// ES* proofs are checked as DER (the KeyObject form of node:crypto's verify is the fast one): the
// conversion from JOSE's r||s must give the minimal DER of the same two integers, and the verdicts
// must be node:crypto's own for the r||s form, for good and for bad signatures of every curve.
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import t from 'tap';
import { p1363ToDer, signatureVerifies } from '../src/signature.ts';

/** The reference: DER from the integers' values (X.690 8.3: minimal two's complement). */
function derOf(signature: Uint8Array): string {
  const half = signature.length / 2;
  const integer = (bytes: Uint8Array) => {
    let hex = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`).toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
    return `02${(hex.length / 2).toString(16).padStart(2, '0')}${hex}`;
  };
  const body = integer(signature.subarray(0, half)) + integer(signature.subarray(half));
  const length = body.length / 2;
  return `30${length < 0x80 ? '' : '81'}${length.toString(16).padStart(2, '0')}${body}`;
}

t.test('r||s becomes the minimal DER of the same integers', async (t) => {
  const shaped = (size: number, fill: (bytes: Buffer) => void) => {
    const bytes = randomBytes(size * 2);
    fill(bytes);
    return bytes;
  };
  for (const size of [32, 48, 66]) {
    const cases: Array<[string, Buffer]> = [
      ['random', shaped(size, () => {})],
      ['high bit set in r and s', shaped(size, (b) => ((b[0] = 0xff), (b[size] = 0x80)))],
      ['leading zero bytes', shaped(size, (b) => b.fill(0, 0, 3).fill(0, size, size + 5))],
      ['a zero byte then a high bit', shaped(size, (b) => ((b[0] = 0), (b[1] = 0x90)))],
      ['r and s zero', Buffer.alloc(size * 2)],
      ['r and s all ones', Buffer.alloc(size * 2, 0xff)],
    ];
    for (const [label, signature] of cases) {
      t.equal(p1363ToDer(signature).toString('hex'), derOf(signature), `${size * 8}-bit halves, ${label}`);
    }
  }
});

t.test("verdicts are node:crypto's own for the r||s form", async (t) => {
  const curves = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' } as const;
  for (const [alg, namedCurve] of Object.entries(curves)) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    const hash = `sha${alg.slice(2)}`;
    let agreed = 0;
    for (let i = 0; i < 40; i++) {
      const input = `header.payload-${i}`;
      const good = sign(hash, Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const flipped = Buffer.from(good);
      flipped[i % good.length]! ^= 1 << i % 8;
      for (const [signature, signed] of [[good, input], [flipped, input], [good, `${input}x`]] as const) {
        const expected = verify(hash, Buffer.from(signed), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
        const ours = signatureVerifies(publicKey, alg, signed, signature.toString('base64url'));
        if (ours !== expected) t.fail(`${alg} #${i}: ours ${ours}, node:crypto ${expected}`);
        else agreed++;
      }
    }
    t.equal(agreed, 120, `${alg}: 40 good, 40 altered, 40 for other input, all agreed`);
    const good = sign(hash, Buffer.from('x'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    t.ok(signatureVerifies(publicKey, alg, 'x', good.toString('base64url')), `${alg}: a good signature verifies`);
    t.notOk(signatureVerifies(publicKey, alg, 'x', sign(hash, Buffer.from('x'), privateKey).toString('base64url')), `${alg}: a DER signature is refused`);
  }
});
