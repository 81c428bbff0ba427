/**
 * The whole stack for an end-to-end test: scripts/stack.ts (what `npm start` runs) on free ports,
 * temporary key stores, in-memory audit streams, and the embedded or real (Kafka mock broker,
 * PostgreSQL) infrastructure the test asks for. Users log in through the token service's real login
 * form and call the gateway with their access token, as an API client would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaBus, type DeliveredMessage, type EventBus, type OutgoingMessage } from '@gatehouse/event-bus';
import { kafkaBrokerOrSkip, type KafkaBrokerHandle } from '@gatehouse/event-bus/testing';
import { memoryAuditSink } from '@gatehouse/observability';
import { postgresOrSkip } from '@gatehouse/sql/testing';
import type { Test } from 'tap';
import { loginWithCode } from '../../../token-service/test/support/oauth.ts';
import { type Component, type Stack, startStack } from '../../../scripts/stack.ts';

export const USER_SCOPE = 'openid profile orders:read orders:write shipments:read invoices:read';

export interface E2eStack extends Stack {
  audit: Record<Component, Array<Record<string, unknown>>>;
  broker?: KafkaBrokerHandle;
  /** An access token for a demo user, through the real login form. */
  login(username: string): Promise<string>;
  /** A gateway call with a bearer token; the body parsed as JSON when it is. */
  // Test bodies are whatever JSON the service sent; the assertions check their shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  api(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  /** Every record of a topic so far (a throw-away consumer group, from the beginning). */
  records(topic: string, count: number, timeoutMs?: number): Promise<DeliveredMessage[]>;
  produce(topic: string, message: OutgoingMessage): Promise<void>;
}

export interface E2eOptions {
  kafka?: boolean;
  postgres?: boolean;
  env?: Record<string, string>;
  /** A fixed gateway port (the browser test needs its origin before start); free otherwise. */
  gatewayPort?: number;
}

/** undefined when Kafka or PostgreSQL were asked for and are missing outside CI (skipped). */
export async function startE2eStack(t: Test, options: E2eOptions = {}): Promise<E2eStack | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  let bus: EventBus | undefined;
  let broker: KafkaBrokerHandle | undefined;
  if (options.kafka) {
    broker = await kafkaBrokerOrSkip(t);
    if (!broker) return undefined;
    t.teardown(() => broker!.stop());
    for (const topic of ['orders', 'orders.shipping.dlq', 'orders.invoicing.dlq']) await broker.createTopic(topic, 3);
    bus = createKafkaBus({ brokers: broker.brokers, clientId: 'gatehouse-e2e' });
  }
  let databases: Record<string, string> | undefined;
  if (options.postgres) {
    const postgres = await postgresOrSkip(t);
    if (!postgres) return undefined;
    databases = {
      sales: await postgres.createDatabase('sales'),
      shipping: await postgres.createDatabase('shipping'),
      invoicing: await postgres.createDatabase('invoicing'),
    };
  }

  const sinks = {
    'token-service': memoryAuditSink(),
    gateway: memoryAuditSink(),
    sales: memoryAuditSink(),
    shipping: memoryAuditSink(),
    invoicing: memoryAuditSink(),
  } satisfies Record<Component, ReturnType<typeof memoryAuditSink>>;
  const stack = await startStack({
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      KEYSTORE_PATH: join(dir, 'keys', 'keystore.json'),
      CLIENT_KEYS_DIR: join(dir, 'clients'),
      AUDIT_LOG: join(dir, 'audit.jsonl'),
      OUTBOX_POLL_MS: '100',
      RELAY_BACKOFF_BASE_MS: '100',
      RELAY_BACKOFF_MAX_MS: '1000',
      ...options.env,
    },
    ...(bus ? { bus } : {}),
    ...(databases ? { databases } : {}),
    ports: { 'token-service': 0, gateway: options.gatewayPort ?? 0, sales: 0, shipping: 0, invoicing: 0 },
    audit: (component) => sinks[component].stream,
  });
  t.teardown(async () => {
    await stack.close();
    await bus?.close();
  });
  const issuer = stack.urls['token-service'];

  const api: E2eStack['api'] = async (token, method, path, body) => {
    const response = await fetch(`${stack.urls.gateway}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };

  const records: E2eStack['records'] = async (topic, count, timeoutMs = 20_000) => {
    const seen: DeliveredMessage[] = [];
    let done!: () => void;
    const enough = new Promise<void>((resolve) => {
      done = resolve;
    });
    const consumer = await stack.bus.consume({
      groupId: `e2e-reader-${Math.random().toString(36).slice(2)}`,
      topics: [topic],
      fromBeginning: true,
      async handle(message) {
        seen.push(message);
        if (seen.length >= count) done();
      },
    });
    const timer = setTimeout(done, timeoutMs);
    await enough;
    clearTimeout(timer);
    await consumer.stop();
    return seen;
  };

  const produce: E2eStack['produce'] = async (topic, message) => {
    const producer = await stack.bus.producer();
    await producer.send(topic, [message]);
    await producer.disconnect();
  };

  return {
    ...stack,
    ...(broker ? { broker } : {}),
    audit: Object.fromEntries(Object.entries(sinks).map(([k, v]) => [k, v.records])) as E2eStack['audit'],
    login: async (username) => (await loginWithCode(issuer, username, undefined, USER_SCOPE)).tokens.access_token,
    api,
    records,
    produce,
  };
}

/**
 * Polls until check() returns a value that is not undefined, or fails after timeoutMs. A long wait
 * through the gateway should poll slowly (intervalMs): a user is limited to 500 requests a minute.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string | (() => string),
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
