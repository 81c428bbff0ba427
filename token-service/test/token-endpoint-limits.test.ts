import t from 'tap';
import { client, oauthClient, oauthError } from './support/oauth.ts';
import { startTokenService } from './support/token-service.ts';

t.test('the token endpoint is limited per client', async (t) => {
  const { issuer } = await startTokenService(t, {
    RATE_LIMIT_TOKEN_PER_CLIENT: '3',
    RATE_LIMIT_TOKEN_PER_IP: '1000',
  });
  const shipping = await oauthClient(issuer, 'shipping');
  for (let i = 0; i < 3; i += 1) await client.clientCredentialsGrant(shipping);
  const limited = await client.clientCredentialsGrant(shipping).catch((e) => e);
  t.equal(limited.status, 429);
  t.equal(limited.error, 'too_many_requests', 'an OAuth-shaped JSON error');
  const invoicing = await oauthClient(issuer, 'invoicing');
  t.ok((await client.clientCredentialsGrant(invoicing)).access_token, 'another client is unaffected');

  const raw = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('shipping:whatever').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  t.equal(raw.status, 429);
  t.ok(Number(raw.headers.get('retry-after')) >= 1, 'Retry-After');
  t.equal(raw.headers.get('ratelimit-remaining'), '0');
  const metrics = await (await fetch(`${issuer}/metrics`)).text();
  t.match(metrics, /gatehouse_rate_limited_total\{limit="token_client",component="token-service"\} [1-9]/);
});

t.test('the token endpoint is limited per source IP, whatever client is claimed', async (t) => {
  const { issuer } = await startTokenService(t, {
    RATE_LIMIT_TOKEN_PER_CLIENT: '1000',
    RATE_LIMIT_TOKEN_PER_IP: '4',
  });
  const shipping = await oauthClient(issuer, 'shipping');
  const invoicing = await oauthClient(issuer, 'invoicing');
  await client.clientCredentialsGrant(shipping);
  await client.clientCredentialsGrant(invoicing);
  await client.clientCredentialsGrant(shipping);
  const ok = await client.clientCredentialsGrant(invoicing);
  t.ok(ok.access_token);
  t.same(oauthError(await client.clientCredentialsGrant(invoicing).catch((e) => e)), {
    error: 'too_many_requests',
    status: 429,
  });
});
