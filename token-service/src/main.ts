#!/usr/bin/env node
/** Starts the token service on its own: `npm start -w @gatehouse/token-service`. */
import { exitOnConfigError } from '@gatehouse/config';
import { buildTokenService } from './app.ts';
import { loadTokenServiceConfig } from './config.ts';

export async function startTokenService(env: NodeJS.ProcessEnv = process.env) {
  let config: ReturnType<typeof loadTokenServiceConfig>;
  try {
    config = loadTokenServiceConfig(env);
  } catch (error) {
    exitOnConfigError(error);
  }
  const service = await buildTokenService(config);
  await service.app.listen({ host: config.TOKEN_SERVICE_HOST, port: config.TOKEN_SERVICE_PORT });
  service.app.log.info(
    { issuer: config.ISSUER, mode: config.NODE_ENV, store: service.stores.kind },
    'token service ready',
  );
  return service;
}

if (import.meta.main) {
  startTokenService().then(
    (service) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          service.close().then(() => process.exit(0));
        });
      }
    },
    (error: Error) => {
      process.stderr.write(`token service failed to start: ${error.message}\n`);
      process.exit(1);
    },
  );
}
