/** Starts a real gateway on a loopback port for a test, with an in-memory audit sink. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryAuditSink } from '@gatehouse/observability';
import type { DestinationStream } from 'pino';
import type { Test } from 'tap';
import { buildGateway, type Gateway } from '../../src/app.ts';
import { loadGatewayConfig } from '../../src/config.ts';
import { parseRoutes } from '../../src/routes.ts';

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  audit: Array<Record<string, unknown>>;
}

export async function startGateway(
  t: Test,
  options: { issuer: string; routes: unknown[]; env?: Record<string, string>; logDestination?: DestinationStream },
): Promise<RunningGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-gw-'));
  const config = loadGatewayConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    TOKEN_SERVICE_URL: options.issuer,
    AUDIT_LOG: join(dir, 'audit.jsonl'),
    ...options.env,
  });
  const sink = memoryAuditSink();
  const gateway = await buildGateway(config, {
    auditDestination: sink.stream,
    routes: parseRoutes({ routes: options.routes }),
    ...(options.logDestination ? { logDestination: options.logDestination } : {}),
  });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const address = gateway.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  t.teardown(async () => {
    await gateway.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { gateway, url: `http://127.0.0.1:${port}`, audit: sink.records };
}

/** A route entry for tests, pointing at a test upstream. */
export function route(upstream: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'orders',
    prefix: '/api/orders',
    upstream,
    methods: ['GET', 'POST'],
    auth: 'bearer',
    scopes: { GET: ['orders:read'], POST: ['orders:write'] },
    roles: [],
    ...overrides,
  };
}

/** A request to the gateway, with the body parsed when it is JSON (problem+json included). */
export async function callGateway(base: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: body stays empty, and an assertion on it says so
  }
  return { status: response.status, headers: response.headers, body, text };
}
