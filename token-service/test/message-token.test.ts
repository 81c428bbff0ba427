import { activateKey, ensureDevKeyStore, generateKey, KeyRing } from '@gatehouse/keys';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { actClaim, mintMessageToken } from '../src/tokens/message-token.ts';

const decision = {
  audiences: ['urn:gatehouse:consumer:shipping'],
  scopes: ['orders.created'],
  ttl: 600,
  claims: { org_id: 'acme' },
};

for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
  t.test(`message tokens signed with an active ${alg} key verify with the published JWKS`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-mt-'));
    let store = await ensureDevKeyStore(join(dir, 'keystore.json'));
    if (alg !== 'ES256') {
      const generated = await generateKey(store, { alg, now: new Date(0) });
      store = activateKey(generated.store, generated.key.kid, { now: new Date(), force: true }).store;
    }
    const ring = KeyRing.fromStore(store);
    t.equal(ring.activeAlg, alg);
    const now = Date.now();
    const minted = await mintMessageToken(ring, {
      issuer: 'http://issuer.test',
      subject: 'alice',
      clientId: 'gateway',
      decision,
      act: actClaim('gateway', { sub: 'upstream' }),
      txn: 'txn-1',
      now,
    });
    const { payload, protectedHeader } = await jwtVerify(minted.token, createLocalJWKSet(ring.publicJwks() as never), {
      issuer: 'http://issuer.test',
      audience: 'urn:gatehouse:consumer:shipping',
      typ: 'message+jwt',
      algorithms: [alg],
    });
    t.equal(protectedHeader.kid, ring.activeKid);
    t.equal(payload.jti, minted.jti);
    t.equal(payload.exp, minted.exp);
    t.equal(payload.exp! - payload.iat!, 600);
    t.same(payload.act, { sub: 'gateway', client_id: 'gateway', act: { sub: 'upstream' } }, 'nested act');
    t.equal(payload.org_id, 'acme');
    t.notOk('cnf' in payload, 'no cnf unless bound');
    t.equal(payload.aud, 'urn:gatehouse:consumer:shipping', 'a single audience is a string');
  });
}
