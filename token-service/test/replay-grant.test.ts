// Replay grants: client credentials, scope events:replay, a JWT of its own kind for the consumers.
import { createValidator, remoteKeys } from '@gatehouse/validator';
import t from 'tap';
import { replayRange } from '../src/grants/replay-grant.ts';
import { client, decodeJwt, oauthClient, oauthError } from './support/oauth.ts';
import { startTokenService } from './support/token-service.ts';

const CONSUMERS = ['urn:gatehouse:consumer:shipping', 'urn:gatehouse:consumer:invoicing'];

t.test('a producer gets a short-lived replay grant for every consumer', async (t) => {
  const { issuer, audit } = await startTokenService(t, { REPLAY_GRANT_TTL: '120' });
  const sales = await oauthClient(issuer, 'sales');
  const answer = await client.clientCredentialsGrant(sales, {
    scope: 'events:replay',
    replay_from: '2026-01-01T00:00:00Z',
    replay_to: '2026-12-31T23:59:59.5+01:00',
  });
  t.equal(answer.expires_in, 120);
  const { header, payload } = decodeJwt(answer.access_token);
  t.equal(header.typ, 'replay+jwt', 'its own typ: never an access token');
  t.same(payload.aud, CONSUMERS);
  t.equal(payload.client_id, 'sales');
  t.equal(payload.scope, 'events:replay');
  t.same(payload.replay, {
    id: payload.jti,
    from: '2026-01-01T00:00:00.000Z',
    to: '2026-12-31T22:59:59.500Z',
  });
  t.equal((payload.exp as number) - (payload.iat as number), 120);

  // The consumers' validator accepts it as a replay grant, and only as that.
  const validator = createValidator({ issuer, keys: remoteKeys(`${issuer}/jwks`) });
  const replayProfile = { kind: 'replay', typ: 'replay+jwt', audience: CONSUMERS[0]!, requiredClaims: ['replay'] };
  const principal = await validator.verify(answer.access_token, replayProfile);
  t.equal(principal.clientId, 'sales');
  await t.rejects(
    validator.verify(answer.access_token, { kind: 'access', typ: 'at+jwt', audience: 'urn:gatehouse:api' }),
    { code: 'ERR_TOKEN_TYP' },
  );
  t.ok(audit.some((r) => r.event === 'token.issued' || r.client_id === 'sales'), 'issuance audited');
});

t.test('a replay grant without a range names none', async (t) => {
  const { issuer } = await startTokenService(t);
  const sales = await oauthClient(issuer, 'sales');
  const { access_token } = await client.clientCredentialsGrant(sales, {
    scope: 'events:replay',
    resource: 'urn:gatehouse:consumers',
  });
  const { payload } = decodeJwt(access_token);
  t.same(payload.replay, { id: payload.jti });
  t.equal(payload.exp as number, (payload.iat as number) + 300, 'default 5 minutes');
});

t.test('replay grants are refused', async (t) => {
  const { issuer } = await startTokenService(t);
  const sales = await oauthClient(issuer, 'sales');
  const shipping = await oauthClient(issuer, 'shipping');

  t.test('to a client not allowed to replay', async (t) => {
    const error = await client.clientCredentialsGrant(shipping, { scope: 'events:replay' }).catch(oauthError);
    t.equal(error.error, 'invalid_scope');
    t.equal(error.status, 400);
  });

  t.test('with a malformed range', async (t) => {
    const cases: Array<Record<string, string>> = [
      { replay_from: 'yesterday' },
      { replay_to: '2026-13-01T00:00:00Z' },
      { replay_from: '2026-02-01T00:00:00Z', replay_to: '2026-01-01T00:00:00Z' },
    ];
    for (const params of cases) {
      const error = await client
        .clientCredentialsGrant(sales, { scope: 'events:replay', ...params })
        .catch(oauthError);
      t.equal(error.error, 'invalid_request', JSON.stringify(params));
      t.equal(error.status, 400);
    }
  });

  t.test('for the API resource: events:replay is not an API scope', async (t) => {
    const answer = await client
      .clientCredentialsGrant(sales, { scope: 'events:replay', resource: 'urn:gatehouse:api' })
      .catch(oauthError);
    // oidc-provider narrows the scope to the resource's (RFC 6749 3.3 allows a narrower grant).
    if ('access_token' in answer && typeof answer.access_token === 'string') {
      const { header, payload } = decodeJwt(answer.access_token);
      t.equal(header.typ, 'at+jwt');
      t.notMatch(String(payload.scope ?? ''), /events:replay/);
      t.equal(payload.replay, undefined);
    } else {
      t.equal((answer as { error?: string }).error, 'invalid_scope');
    }
  });

  t.test('an API token for the same client carries no replay scope', async (t) => {
    const { access_token } = await client.clientCredentialsGrant(sales, { scope: 'orders:read' });
    const { header, payload } = decodeJwt(access_token);
    t.equal(header.typ, 'at+jwt');
    t.equal(payload.aud, 'urn:gatehouse:api');
    t.equal(payload.replay, undefined);
  });
});

t.test('replayRange, the pure part', async (t) => {
  t.same(replayRange(undefined), {});
  t.same(replayRange({ replay_from: '' }), {});
  const refusal = (params: Record<string, unknown>) => {
    try {
      replayRange(params);
      return 'accepted';
    } catch (error) {
      const e = error as { error?: string; error_description?: string };
      return `${e.error}: ${e.error_description}`;
    }
  };
  t.equal(refusal({ replay_from: 42 }), 'invalid_request: replay_from must be an RFC 3339 date-time');
  t.equal(refusal({ replay_to: '2026-01-01' }), 'invalid_request: replay_to must be an RFC 3339 date-time');
  t.equal(
    refusal({ replay_to: ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'] }),
    'invalid_request: replay_to must be an RFC 3339 date-time',
    'a repeated parameter',
  );
});
