// The refusal replies every hop shares: status, problem+json body, challenge / Retry-After.
import Fastify from 'fastify';
import t from 'tap';
import { installProblemHandlers, sendCredentialRefusal, sendForbidden, sendValidationUnavailable } from '../src/index.ts';

async function app() {
  const server = Fastify();
  installProblemHandlers(server);
  server.get('/missing', (_request, reply) =>
    sendCredentialRefusal(reply, { status: 401, code: 'ERR_TOKEN_MISSING', description: 'no bearer token' }),
  );
  server.get('/invalid', (_request, reply) =>
    sendCredentialRefusal(reply, { status: 401, code: 'ERR_TOKEN_EXPIRED', error: 'invalid_token', description: 'token expired' }),
  );
  server.get('/malformed', (_request, reply) =>
    sendCredentialRefusal(reply, { status: 400, code: 'ERR_TOKEN_MULTIPLE', error: 'invalid_request', description: 'two tokens' }),
  );
  server.get('/down', (_request, reply) => sendValidationUnavailable(reply, 'ERR_KEYS_UNAVAILABLE'));
  server.get('/down-sales', (_request, reply) =>
    sendValidationUnavailable(reply, 'ERR_DENY_LIST_UNAVAILABLE', { slug: 'dependency-unavailable', detail: 'Later.' }),
  );
  server.get('/scope', (_request, reply) =>
    sendForbidden(reply, { missingScopes: ['orders:write'], requiredScopes: ['orders:read', 'orders:write'] }),
  );
  server.get('/role', (_request, reply) => sendForbidden(reply, { missingScopes: [], requiredScopes: [] }));
  return server;
}

t.test('credential refusals: 401/400 with the RFC 6750 challenge and problem+json', async (t) => {
  const server = await app();
  t.teardown(() => server.close());
  const missing = await server.inject('/missing');
  t.equal(missing.statusCode, 401);
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="gatehouse"', 'no error attribute when no token was sent');
  t.match(missing.headers['content-type'], /^application\/problem\+json/);
  t.match(missing.json(), { status: 401, code: 'ERR_TOKEN_MISSING', detail: 'No bearer token.', type: /invalid-token$/ });
  const invalid = await server.inject('/invalid');
  t.match(invalid.headers['www-authenticate'], /^Bearer realm="gatehouse", error="invalid_token", error_description="token expired"$/);
  const malformed = await server.inject('/malformed');
  t.equal(malformed.statusCode, 400);
  t.match(malformed.json(), { code: 'ERR_TOKEN_MULTIPLE', type: /invalid-request$/ });
});

t.test('validation unavailable: 503 with Retry-After', async (t) => {
  const server = await app();
  t.teardown(() => server.close());
  const down = await server.inject('/down');
  t.equal(down.statusCode, 503);
  t.equal(down.headers['retry-after'], '5');
  t.match(down.json(), { code: 'ERR_KEYS_UNAVAILABLE', type: /validation-unavailable$/, detail: /cannot be checked right now/ });
  const sales = await server.inject('/down-sales');
  t.match(sales.json(), { code: 'ERR_DENY_LIST_UNAVAILABLE', type: /dependency-unavailable$/, detail: 'Later.' });
});

t.test('forbidden: 403 insufficient_scope naming every scope needed, or a missing role', async (t) => {
  const server = await app();
  t.teardown(() => server.close());
  const scope = await server.inject('/scope');
  t.equal(scope.statusCode, 403);
  t.equal(
    scope.headers['www-authenticate'],
    'Bearer realm="gatehouse", error="insufficient_scope", scope="orders:read orders:write", error_description="a required scope is missing"',
  );
  t.match(scope.json(), { code: 'ERR_INSUFFICIENT_SCOPE', missingScopes: ['orders:write'], detail: 'This request needs the scopes: orders:write.' });
  const role = await server.inject('/role');
  t.equal(role.statusCode, 403);
  t.equal(role.headers['www-authenticate'], 'Bearer realm="gatehouse", error="insufficient_scope", error_description="a required role is missing"');
  t.match(role.json(), { code: 'ERR_MISSING_ROLE', type: /missing-role$/ });
  t.notOk('missingScopes' in role.json(), 'no scope list when only a role is missing');
});
