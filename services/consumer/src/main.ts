/**
 * The entry point both consumer deployables share: validate the configuration (exit 78 naming the
 * setting), connect the bus (Kafka when KAFKA_BROKERS is set; the in-process bus otherwise, which
 * only makes sense when a producer runs in the same process, as in the all-in-one dev stack),
 * build the service, listen, and shut down cleanly on SIGINT/SIGTERM.
 */
import { exitOnConfigError } from '@gatehouse/config';
import { busFromSettings, createEmbeddedBus, type EventBus } from '@gatehouse/event-bus';
import { createLogger } from '@gatehouse/observability';
import type { ConsumerServiceConfig } from './config.ts';
import type { ConsumerService, ConsumerServiceDeps } from './service.ts';

export interface RunningService {
  service: ConsumerService;
  config: ConsumerServiceConfig;
  bus: EventBus;
  close(): Promise<void>;
}

export interface RunOptions<C extends ConsumerServiceConfig> {
  load(env: NodeJS.ProcessEnv): C;
  build(config: C, deps: ConsumerServiceDeps): Promise<ConsumerService>;
  env?: NodeJS.ProcessEnv;
  /** A bus to share (the all-in-one stack's embedded one); not closed by close(). */
  bus?: EventBus;
}

export async function runConsumerService<C extends ConsumerServiceConfig>(
  options: RunOptions<C>,
): Promise<RunningService> {
  let config: C;
  try {
    config = options.load(options.env ?? process.env);
  } catch (error) {
    exitOnConfigError(error);
  }
  const logger = createLogger(config.name, config.logLevel);
  const ownBus = options.bus === undefined;
  let bus: EventBus | undefined;
  try {
    // Reads the TLS and SASL password files: an unreadable one is a configuration error (exit 78).
    bus = options.bus ?? busFromSettings(config.settings, logger);
  } catch (error) {
    exitOnConfigError(error);
  }
  if (bus === undefined) {
    logger.warn('KAFKA_BROKERS is not set: using the in-process bus (events from other processes never arrive)');
    bus = createEmbeddedBus();
  }
  const service = await options.build(config, { bus });
  await service.app.listen({ host: config.host, port: config.port });
  service.logger.info(
    { port: config.port, bus: bus.kind, database: service.db.kind, topic: config.eventsTopic, mode: config.mode },
    `${config.name} ready`,
  );
  const busInUse = bus;
  return {
    service,
    config,
    bus,
    async close() {
      await service.close();
      if (ownBus) await busInUse.close();
    },
  };
}

/** For src/main.ts: run, and close on a signal. */
export function runUntilSignal(start: () => Promise<RunningService>, name: string): void {
  start().then(
    (running) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          running.close().then(() => process.exit(0));
        });
      }
    },
    (error: Error) => {
      process.stderr.write(`${name} failed to start: ${error.message}\n`);
      process.exit(1);
    },
  );
}
