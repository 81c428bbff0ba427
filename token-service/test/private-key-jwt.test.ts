import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, importJWK } from 'jose';
import t from 'tap';
import { client, decodeJwt, oauthClient, oauthError } from './support/oauth.ts';
import { startTokenService } from './support/token-service.ts';

t.test('sales authenticates with private_key_jwt using its own key', async (t) => {
  const { issuer, dir } = await startTokenService(t, { SALES_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt' });
  const jwk = JSON.parse(await readFile(join(dir, 'clients', 'sales.private.jwk.json'), 'utf8'));
  const key = await importJWK(jwk, 'ES256');
  const sales = await oauthClient(
    issuer,
    'sales',
    client.PrivateKeyJwt({ key: key as client.CryptoKey, kid: jwk.kid }),
  );
  const tokens = await client.clientCredentialsGrant(sales, { scope: 'events:replay' });
  t.equal(decodeJwt(tokens.access_token).payload.client_id, 'sales');

  const { privateKey } = await generateKeyPair('ES256');
  const impostor = await oauthClient(issuer, 'sales', client.PrivateKeyJwt(privateKey));
  t.same(oauthError(await client.clientCredentialsGrant(impostor).catch((e) => e)), {
    error: 'invalid_client',
    status: 401,
  });

  const withSecret = await oauthClient(issuer, 'sales');
  t.same(
    oauthError(await client.clientCredentialsGrant(withSecret).catch((e) => e)),
    { error: 'invalid_client', status: 401 },
    'the registered method is enforced: a secret no longer works',
  );
});
