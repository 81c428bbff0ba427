/** Loads the configuration, builds the service and listens; used by main.ts and the all-in-one stack. */
import { buildSalesService, type SalesDeps, type SalesService } from './app.ts';
import { loadSalesConfig } from './config.ts';

export async function startSalesService(env: NodeJS.ProcessEnv = process.env, deps: SalesDeps = {}): Promise<SalesService> {
  const config = loadSalesConfig(env);
  const service = await buildSalesService(config, deps);
  try {
    await service.app.listen({ host: config.SALES_HOST, port: config.SALES_PORT });
  } catch (error) {
    await service.close();
    throw error;
  }
  return service;
}
