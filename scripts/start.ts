#!/usr/bin/env node
/**
 * The all-in-one development stack: every Gatehouse component in this one process, each on its
 * own port, with embedded stores (no Redis, Kafka or database server needed).
 *   token service  http://localhost:4000  (TOKEN_SERVICE_PORT)
 * Later components join this list as they are built.
 */
import { startTokenService } from '@gatehouse/token-service';

const tokenService = await startTokenService();

process.stdout.write(
  [
    '',
    'Gatehouse dev stack is up:',
    `  token service   ${tokenService.config.ISSUER}  (discovery: ${tokenService.config.ISSUER}/.well-known/openid-configuration)`,
    '  demo users      alice, bob, carol, admin (password: DEMO_USER_PASSWORD, default gatehouse-demo-password)',
    '',
  ].join('\n'),
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void tokenService.close().finally(() => process.exit(0));
  });
}
