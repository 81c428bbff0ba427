#!/usr/bin/env node
/**
 * The all-in-one development stack: every Gatehouse component in this one process, each on its
 * own port, with embedded stores (no Redis, Kafka or database server needed).
 *   token service  http://localhost:4000  (TOKEN_SERVICE_PORT)
 *   gateway        http://localhost:8080  (GATEWAY_PORT)
 * Later components (sales, shipping, invoicing) join this list as they are built.
 */
import { startGateway } from '@gatehouse/gateway';
import { startTokenService } from '@gatehouse/token-service';

const tokenService = await startTokenService();
const gateway = await startGateway({ TOKEN_SERVICE_URL: tokenService.config.ISSUER, ...process.env });

process.stdout.write(
  [
    '',
    'Gatehouse dev stack is up:',
    `  token service   ${tokenService.config.ISSUER}  (discovery: ${tokenService.config.ISSUER}/.well-known/openid-configuration)`,
    `  gateway         http://localhost:${gateway.config.GATEWAY_PORT}  (routes: ${gateway.routes.map((r) => r.prefix).join(', ')})`,
    '  demo users      alice, bob, carol, admin (password: DEMO_USER_PASSWORD, default gatehouse-demo-password)',
    '',
  ].join('\n'),
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.allSettled([gateway.close(), tokenService.close()]).finally(() => process.exit(0));
  });
}
