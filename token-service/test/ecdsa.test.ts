// DER → JOSE r||s for the token service's ES256 signatures (src/tokens/ecdsa.ts): every converted
// signature verifies as P1363 under node:crypto, short and sign-padded integers included, and
// anything that is not one DER ECDSA signature of the curve's size is refused.
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import t from 'tap';
import { derToP1363, SignatureEncodingError } from '../src/tokens/ecdsa.ts';

t.test('converted signatures verify as IEEE P1363, leading zeros included', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let failures = 0;
  let shortHalves = 0;
  for (let i = 0; i < 2000; i++) {
    const data = randomBytes(64 + (i % 64));
    const der = sign('sha256', data, privateKey);
    const jose = derToP1363(der, 32);
    if (jose.length !== 64) failures++;
    else if (!verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)) failures++;
    // r or s below 2^248: DER drops the zero byte, r||s must put it back.
    if (jose[0] === 0 || jose[32] === 0) shortHalves++;
  }
  t.equal(failures, 0, 'all 2000 verify');
  t.ok(shortHalves > 0, `short integers were exercised (${shortHalves})`);
});

t.test('hand-made DER: minimal, sign-padded and short integers', async (t) => {
  const s33 = [0x00, 0x80, ...Array(31).fill(0x11)];
  const der = Buffer.from([0x30, 3 + 2 + s33.length, 0x02, 0x01, 0x01, 0x02, s33.length, ...s33]);
  const expected = Buffer.concat([Buffer.alloc(31), Buffer.from([0x01]), Buffer.from([0x80, ...Array(31).fill(0x11)])]);
  t.same(derToP1363(der, 32), expected);
  t.same(derToP1363(Buffer.from([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]), 32), Buffer.alloc(64), 'zeros');
  const long = Buffer.from([0x30, 0x81, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07]);
  t.same([...derToP1363(long, 66)].filter((b) => b !== 0), [5, 7], 'the 0x81 length form (ES512 sizes)');
});

t.test('anything else is refused with ERR_SIGNATURE_ENCODING', async (t) => {
  const bad: Array<[string, number[]]> = [
    ['empty', []],
    ['not a SEQUENCE', [0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['SEQUENCE length too long', [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['SEQUENCE length too short', [0x30, 0x05, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['not an INTEGER', [0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['empty INTEGER', [0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01]],
    ['INTEGER past the end', [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x05, 0x01]],
    ['one INTEGER only', [0x30, 0x03, 0x02, 0x01, 0x01]],
    ['INTEGER larger than the curve', [0x30, 0x26, 0x02, 0x21, ...Array(33).fill(0x7f), 0x02, 0x01, 0x01]],
    ['two-byte length form', [0x30, 0x82, 0x00, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
  ];
  for (const [label, bytes] of bad) {
    t.throws(() => derToP1363(Buffer.from(bytes), 32), { name: 'SignatureEncodingError', code: 'ERR_SIGNATURE_ENCODING' }, label);
  }
  const trailing = Buffer.from([0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]);
  t.throws(() => derToP1363(trailing, 32), new SignatureEncodingError('data after the DER signature'), 'data after the integers');
});
