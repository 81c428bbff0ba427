/**
 * Production start is refused when the route table needs the token service (an exchange block or
 * api-key auth) but GATEWAY_CLIENT_SECRET is unset: production has no default secret, and failing
 * every such request later would be worse than not starting.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryAuditSink } from '@gatehouse/observability';
import t from 'tap';
import { buildGateway } from '../src/app.ts';
import { loadGatewayConfig } from '../src/config.ts';
import { parseRoutes, RouteTableError } from '../src/routes.ts';

const upstream = 'http://127.0.0.1:4100';
const needing = [
  {
    name: 'orders',
    prefix: '/api/orders',
    upstream,
    methods: ['POST'],
    auth: 'bearer',
    scopes: ['orders:write'],
    roles: [],
    exchange: { audience: ['urn:gatehouse:consumer:shipping'], producer: 'sales' },
  },
  { name: 'ingest', prefix: '/api/ingest', upstream, methods: ['POST'], auth: 'api-key', scopes: ['orders:write'], roles: [] },
];
const plain = { name: 'shipments', prefix: '/api/shipments', upstream, methods: ['GET'], auth: 'bearer', scopes: [], roles: [] };

const dir = await mkdtemp(join(tmpdir(), 'gatehouse-gw-refusals-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

const production = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'silent',
  TOKEN_SERVICE_URL: 'https://id.example.com',
  // Never contacted: the refusal comes before any connection.
  REDIS_URL: 'redis://127.0.0.1:1',
  AUDIT_LOG: join(dir, 'audit.jsonl'),
};

t.test('buildGateway refuses, naming the setting and every route that needs it', async (t) => {
  const config = loadGatewayConfig({ ...production, ROUTES_FILE: join(dir, 'unused.json') });
  t.equal(config.GATEWAY_CLIENT_SECRET, undefined, 'no default secret in production');
  let error: unknown;
  try {
    await buildGateway(config, { auditDestination: memoryAuditSink().stream, routes: parseRoutes({ routes: [plain, ...needing] }) });
  } catch (caught) {
    error = caught;
  }
  t.ok(error instanceof RouteTableError, 'a RouteTableError (configuration, exit 78 from main)');
  t.equal((error as RouteTableError).code, 'ROUTES_INVALID');
  t.match((error as Error).message, /GATEWAY_CLIENT_SECRET/);
  t.match((error as RouteTableError).problems, [/route "orders" needs the token service/, /route "ingest" needs the token service/]);
  t.equal((error as RouteTableError).problems.length, 2, 'the plain bearer route is not named');
});

t.test('main exits 78 with the reason on stderr', async (t) => {
  const routesFile = join(dir, 'routes.json');
  await writeFile(routesFile, JSON.stringify({ routes: [plain, ...needing] }));
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const run = spawnSync(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', ...production, ROUTES_FILE: routesFile },
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.equal(run.status, 78);
  t.match(run.stderr, /GATEWAY_CLIENT_SECRET/);
  t.match(run.stderr, /route "orders" needs the token service/);
  t.match(run.stderr, /route "ingest" needs the token service/);
});
