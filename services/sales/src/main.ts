/** Entry point: `node services/sales/src/main.ts` (or `npm start -w @gatehouse/sales`). */
import { exitOnConfigError } from '@gatehouse/config';
import { startSalesService } from './start.ts';

const service = await startSalesService().catch(exitOnConfigError);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    service.logger.info({ signal }, 'shutting down');
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        service.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
