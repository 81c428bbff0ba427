// Producer side (encodeData, digest, createProofSigner, encodeEvent, sealEvent) and the strict
// decoder: every MALFORMED / TOO_LARGE path seen on a record that differs from a good one by one defect.
import { createHash } from 'node:crypto';
import { decodeProtectedHeader, decodeJwt } from 'jose';
import t from 'tap';
import type { EventRecord } from '../src/index.ts';
import {
  decodeEvent,
  digest,
  encodeData,
  encodeEvent,
  HEADER,
  SIZE_BUDGET,
  sealEvent,
  createProofSigner,
} from '../src/index.ts';
import { envelopeError, refuses } from './support/assert.ts';
import {
  attributes,
  makeKey,
  makeWorld,
  messageToken,
  NOW_S,
  orderData,
  replayGrant,
  sealed,
  withHeaders,
} from './support/fixtures.ts';

const world = await makeWorld();

t.test('encodeData and digest', async (t) => {
  const bytes = encodeData({ b: 1, a: 'é' });
  t.equal(bytes.toString('utf8'), '{"b":1,"a":"é"}', 'JSON.stringify, UTF-8');
  t.equal(digest(bytes), createHash('sha256').update(bytes).digest('base64url'));
  t.equal(digest('abc'), digest(Buffer.from('abc')), 'string and its UTF-8 bytes hash alike');
  t.throws(() => encodeData([] as unknown as Record<string, unknown>), TypeError);
});

t.test('sealEvent builds a binary-mode record that decodes to the same event', async (t) => {
  const attrs = attributes();
  const token = await messageToken(world);
  const record = await sealEvent(world.signer, { attributes: attrs, data: orderData(), messageToken: token });
  t.equal(record.key, 'order-42', 'key is the subject');
  t.same(
    Object.keys(record.headers).sort(),
    [
      'ce_id',
      'ce_source',
      'ce_specversion',
      'ce_subject',
      'ce_time',
      'ce_type',
      'content-type',
      HEADER.proof,
      HEADER.messageToken,
    ].sort(),
    'only set attributes, content-type (not ce_datacontenttype) and our credentials',
  );
  t.equal(record.headers.ce_specversion, '1.0');
  t.equal(record.headers['content-type'], 'application/json');
  t.equal(record.headers.ce_time, attrs.time, 'time kept byte for byte');
  t.same(record.value, encodeData(orderData()));

  const decoded = decodeEvent(record);
  t.same(decoded.attributes, attrs);
  t.same(decoded.data, orderData());
  t.equal(decoded.messageToken, token);
  t.equal(decoded.proof, record.headers[HEADER.proof]);
  t.notOk('replayGrant' in decoded);

  const header = decodeProtectedHeader(decoded.proof!);
  t.same(header, { alg: 'ES256', kid: 'sales-1', typ: 'event-proof+jwt' });
  const claims = decodeJwt(decoded.proof!);
  t.same(claims, {
    evt: attrs.id,
    evt_type: attrs.type,
    src: attrs.source,
    time: attrs.time,
    evt_subject: attrs.subject,
    dig: digest(record.value),
    ath: digest(token),
    iat: NOW_S,
  });
});

t.test('a replayed record carries its grant and a proof naming it (rgh)', async (t) => {
  const grant = await replayGrant(world);
  const record = await sealed(world, { grant });
  t.equal(record.headers[HEADER.replayGrant], grant);
  t.equal(decodeJwt(record.headers[HEADER.proof]!).rgh, digest(grant));
  t.equal(decodeEvent(record).replayGrant, grant);
});

t.test('an event without subject is keyed by its id', async (t) => {
  const { subject: _subject, ...attrs } = attributes();
  const record = await sealed(world, { attributes: attrs });
  t.equal(record.key, attrs.id);
  t.notOk('ce_subject' in record.headers);
  t.notOk('subject' in decodeEvent(record).attributes);
});

t.test('encodeEvent refuses invalid attributes (ERR_EVENT_ATTRIBUTES)', async (t) => {
  const base = { data: encodeData(orderData()), messageToken: 'a.b.c', proof: 'd.e.f' };
  const bad = {
    'empty id': attributes({ id: '' }),
    'time without zone': attributes({ time: '2025-10-09T08:00:00' }),
    'date only': attributes({ time: '2025-10-09' }),
    'impossible date': attributes({ time: '2025-13-40T08:00:00Z' }),
    'source not a URI-reference': attributes({ source: 'not a uri' }),
    'empty subject': attributes({ subject: '' }),
  };
  for (const [label, attrs] of Object.entries(bad)) {
    await envelopeError(t, () => encodeEvent({ ...base, attributes: attrs }), 'ERR_EVENT_ATTRIBUTES', label);
  }
  await envelopeError(
    t,
    sealEvent(world.signer, {
      attributes: attributes({ type: '' }),
      data: orderData(),
      messageToken: 'a.b.c',
    }),
    'ERR_EVENT_ATTRIBUTES',
    'sealEvent checks before signing',
  );
});

t.test('encodeEvent refuses over budget (ERR_EVENT_TOO_LARGE)', async (t) => {
  const ok = {
    attributes: attributes(),
    data: encodeData(orderData()),
    messageToken: 'a.b.c',
    proof: 'd.e.f',
  };
  t.ok(encodeEvent(ok), 'the baseline encodes');
  const cases = {
    data: { ...ok, data: Buffer.alloc(SIZE_BUDGET.data + 1, 0x20) },
    messageToken: { ...ok, messageToken: 'x'.repeat(SIZE_BUDGET.messageToken + 1) },
    proof: { ...ok, proof: 'x'.repeat(SIZE_BUDGET.proof + 1) },
    replayGrant: { ...ok, replayGrant: 'x'.repeat(SIZE_BUDGET.replayGrant + 1) },
    'headers in total': {
      ...ok,
      messageToken: 'x'.repeat(SIZE_BUDGET.messageToken),
      replayGrant: 'x'.repeat(SIZE_BUDGET.replayGrant),
      attributes: attributes({ subject: 'x'.repeat(SIZE_BUDGET.headers) }),
    },
  };
  for (const [label, input] of Object.entries(cases)) {
    await envelopeError(t, () => encodeEvent(input), 'ERR_EVENT_TOO_LARGE', label);
  }
  t.ok(
    encodeEvent({ ...ok, data: Buffer.alloc(SIZE_BUDGET.data, 0x20) }),
    'exactly at the data budget is fine',
  );
  await envelopeError(
    t,
    sealEvent(world.signer, {
      attributes: attributes(),
      data: orderData({ pad: 'x'.repeat(SIZE_BUDGET.data) }),
      messageToken: 'a.b.c',
    }),
    'ERR_EVENT_TOO_LARGE',
    'sealEvent refuses oversized data',
  );
});

t.test('encodeEvent refuses missing credentials', async (t) => {
  const ok = {
    attributes: attributes(),
    data: encodeData(orderData()),
    messageToken: 'a.b.c',
    proof: 'd.e.f',
  };
  t.throws(() => encodeEvent({ ...ok, messageToken: '' }), TypeError);
  t.throws(() => encodeEvent({ ...ok, proof: '' }), TypeError);
  t.throws(() => encodeEvent({ ...ok, data: 'x' as unknown as Buffer }), TypeError);
});

t.test('createProofSigner refuses unusable keys (ERR_EVENT_SIGNING_KEY)', async (t) => {
  const { privateJwk, publicJwk } = world.producer;
  const { kid: _kid, ...noKid } = privateJwk;
  const { alg: _alg, ...noAlg } = privateJwk;
  const cases: Record<string, Record<string, unknown>> = {
    'no kid': noKid,
    'no alg': noAlg,
    'symmetric alg': { ...privateJwk, alg: 'HS256' },
    'public key only': publicJwk as Record<string, unknown>,
    'alg that does not fit the key': { ...privateJwk, alg: 'EdDSA' },
    'not an object': null as unknown as Record<string, unknown>,
  };
  for (const [label, jwk] of Object.entries(cases)) {
    await envelopeError(t, createProofSigner(jwk), 'ERR_EVENT_SIGNING_KEY', label);
  }
  const ed = await makeKey('ed-1', 'EdDSA');
  const signer = await createProofSigner(ed.privateJwk as Record<string, unknown>);
  t.equal(signer.alg, 'EdDSA');
  t.equal(signer.kid, 'ed-1');
});

t.test('decodeEvent refuses malformed records (ERR_EVENT_MALFORMED)', async (t) => {
  const good = await sealed(world);
  t.ok(decodeEvent(good), 'the baseline decodes');
  const value = (text: string): EventRecord => ({ ...good, value: Buffer.from(text, 'utf8') });
  const cases: Record<string, EventRecord> = {
    'no ce_id': withHeaders(good, { ce_id: undefined }),
    'no ce_type': withHeaders(good, { ce_type: undefined }),
    'no ce_source': withHeaders(good, { ce_source: undefined }),
    'no ce_time': withHeaders(good, { ce_time: undefined }),
    'empty ce_id': withHeaders(good, { ce_id: '' }),
    'no ce_specversion': withHeaders(good, { ce_specversion: undefined }),
    'ce_specversion 0.3': withHeaders(good, { ce_specversion: '0.3' }),
    'no content-type': withHeaders(good, { 'content-type': undefined }),
    'structured mode': withHeaders(good, { 'content-type': 'application/cloudevents+json' }),
    'time without zone': withHeaders(good, { ce_time: '2025-10-09T06:53:20' }),
    'source not a URI-reference': withHeaders(good, { ce_source: 'not a uri' }),
    'duplicate member names in data': value('{"org_id":"org-9","org_id":"org-1"}'),
    'duplicate nested member names': value('{"org_id":"org-9","lines":[{"sku":"a","sku":"b"}]}'),
    'data is an array': value('[1,2]'),
    'data is not JSON': value('{"org_id":'),
    'data is not UTF-8': { ...good, value: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) },
    'value is not bytes': { ...good, value: '{}' as unknown as Buffer },
    'header value is not a string': {
      ...good,
      headers: { ...good.headers, ce_id: 7 as unknown as string },
    },
    'headers missing': { ...good, headers: null as unknown as Record<string, string> },
  };
  for (const [label, record] of Object.entries(cases)) {
    await refuses(t, () => decodeEvent(record), 'ERR_EVENT_MALFORMED', label);
  }
});

t.test('decodeEvent refuses over budget before parsing (ERR_EVENT_TOO_LARGE)', async (t) => {
  const good = await sealed(world);
  const cases: Record<string, EventRecord> = {
    data: { ...good, value: Buffer.alloc(SIZE_BUDGET.data + 1, 0x7b) },
    'message token': withHeaders(good, { [HEADER.messageToken]: 'x'.repeat(SIZE_BUDGET.messageToken + 1) }),
    proof: withHeaders(good, { [HEADER.proof]: 'x'.repeat(SIZE_BUDGET.proof + 1) }),
    'replay grant': withHeaders(good, { [HEADER.replayGrant]: 'x'.repeat(SIZE_BUDGET.replayGrant + 1) }),
    'headers in total': withHeaders(good, { 'x-padding': 'x'.repeat(SIZE_BUDGET.headers) }),
  };
  for (const [label, record] of Object.entries(cases)) {
    await refuses(t, () => decodeEvent(record), 'ERR_EVENT_TOO_LARGE', label);
  }
});

t.test(
  'decodeEvent: empty credential headers count as absent; other ce_ extensions are ignored',
  async (t) => {
    const good = await sealed(world);
    const decoded = decodeEvent(
      withHeaders(good, { [HEADER.messageToken]: '', [HEADER.proof]: '', ce_traceparent: '00-abc-def-01' }),
    );
    t.notOk('messageToken' in decoded);
    t.notOk('proof' in decoded);
    t.notOk('traceparent' in decoded.attributes);
    t.equal(
      decodeEvent(withHeaders(good, { 'content-type': 'Application/JSON' })).attributes.id,
      good.headers.ce_id,
    );
  },
);
