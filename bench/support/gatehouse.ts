/**
 * Contender "Gatehouse" (a child process): the real gateway from its public entry points
 * (loadGatewayConfig, parseRoutes, buildGateway), with the settings and route table the bench
 * passes in BENCH_GATEWAY_ENV and BENCH_ROUTES (JSON). Nothing of the caller's environment is read.
 */
import { buildGateway, loadGatewayConfig, parseRoutes } from '../../gateway/src/index.ts';
import { exitWithParent, required } from './children.ts';

const env = JSON.parse(required('BENCH_GATEWAY_ENV')) as Record<string, string>;
const routes = JSON.parse(required('BENCH_ROUTES')) as unknown[];

const config = loadGatewayConfig(env);
const gateway = await buildGateway(config, { routes: parseRoutes({ routes }) });
await gateway.app.listen({ host: config.GATEWAY_HOST, port: config.GATEWAY_PORT });
exitWithParent(() => gateway.close());
