// Starts a consumer deployable (shipping or invoicing) in-process for a test: its real config
// schema, the embedded bus (fast retries), local keys or the token service's JWKS, an in-memory
// audit sink, and the Fastify app for inject(). Stopped at teardown.
import { createEmbeddedBus, type EmbeddedBus, type Producer } from '@gatehouse/event-bus';
import type { EventRecord } from '@gatehouse/events';
import { memoryAuditSink } from '@gatehouse/observability';
import type { KeySource } from '@gatehouse/validator';
import type { Test } from 'tap';
import type { ConsumerService, ConsumerServiceConfig, ConsumerServiceDeps } from '../../src/index.ts';
import { ISSUER, now as fixedNow } from './world.ts';

export interface ServiceUnderTest {
  service: ConsumerService;
  config: ConsumerServiceConfig;
  bus: EmbeddedBus;
  audit: Array<Record<string, unknown>>;
  publish(...records: EventRecord[]): Promise<void>;
  get(path: string, token?: string): Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Local keys (default issuer https://auth.gatehouse.test); omit with TOKEN_SERVICE_URL set for the real JWKS. */
  keys?: KeySource;
  now?: () => number;
  bus?: EmbeddedBus;
}

export async function startService(
  t: Test,
  load: (env: NodeJS.ProcessEnv) => ConsumerServiceConfig,
  build: (config: ConsumerServiceConfig, deps: ConsumerServiceDeps) => Promise<ConsumerService>,
  options: StartOptions,
): Promise<ServiceUnderTest> {
  const bus = options.bus ?? createEmbeddedBus({ retry: { initialMs: 5, maxMs: 40 } });
  const sink = memoryAuditSink();
  const config = load({ NODE_ENV: 'test', LOG_LEVEL: 'silent', TOKEN_SERVICE_URL: ISSUER, ...options.env });
  const service = await build(config, {
    bus,
    auditDestination: sink.stream,
    now: options.now ?? fixedNow,
    ...(options.keys ? { validatorKeys: options.keys } : {}),
  });
  let producer: Producer | undefined;
  t.teardown(async () => {
    await service.close();
    if (!options.bus) await bus.close();
  });
  return {
    service,
    config,
    bus,
    audit: sink.records,
    async publish(...records) {
      producer ??= await bus.producer();
      await producer.send(config.eventsTopic, records);
    },
    async get(path, token) {
      const response = await service.app.inject({
        method: 'GET',
        url: path,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: response.statusCode, headers: response.headers, body: response.json() };
    },
  };
}
