#!/usr/bin/env node
/** Starts the gateway on its own: `npm start -w @gatehouse/gateway`. */
import { exitOnConfigError } from '@gatehouse/config';
import { buildGateway, type Gateway } from './app.ts';
import { type GatewayConfig, loadGatewayConfig } from './config.ts';
import { RouteTableError } from './routes.ts';

/** EX_CONFIG, as for a bad setting: a bad route table is configuration too. */
const EXIT_CONFIG = 78;

export async function startGateway(env: NodeJS.ProcessEnv = process.env): Promise<Gateway> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig(env);
  } catch (error) {
    exitOnConfigError(error);
  }
  let gateway: Gateway;
  try {
    gateway = await buildGateway(config);
  } catch (error) {
    if (error instanceof RouteTableError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
  await gateway.app.listen({ host: config.GATEWAY_HOST, port: config.GATEWAY_PORT });
  gateway.app.log.info(
    { issuer: config.TOKEN_SERVICE_URL, mode: config.NODE_ENV, routes: gateway.routes.map((r) => r.name) },
    'gateway ready',
  );
  return gateway;
}

if (import.meta.main) {
  startGateway().then(
    (gateway) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          gateway.close().then(() => process.exit(0));
        });
      }
    },
    (error: Error) => {
      process.stderr.write(`gateway failed to start: ${error.message}\n`);
      process.exit(1);
    },
  );
}
