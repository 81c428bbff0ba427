import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@gatehouse/config';
import t from 'tap';
import { DEV_ROUTES_FILE, loadGatewayConfig } from '../src/config.ts';
import { loadRoutesFile } from '../src/routes.ts';

const production = {
  NODE_ENV: 'production',
  TOKEN_SERVICE_URL: 'https://id.example.com',
  ROUTES_FILE: '/etc/gatehouse/routes.json',
  REDIS_URL: 'rediss://redis.example.com:6380',
  CORS_ORIGINS: 'https://app.example.com',
};

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadGatewayConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

t.test('development defaults load', async (t) => {
  const c = loadGatewayConfig({});
  t.equal(c.GATEWAY_HOST, '127.0.0.1');
  t.equal(c.GATEWAY_PORT, 8080);
  t.equal(c.TOKEN_SERVICE_URL, 'http://localhost:4000');
  t.equal(c.API_AUDIENCE, 'urn:gatehouse:api');
  t.equal(c.ROUTES_FILE, DEV_ROUTES_FILE);
  t.equal(c.AUDIT_LOG, '.gatehouse/audit/gateway.jsonl');
  t.equal(c.JWKS_MAX_AGE_SECONDS, 300);
  t.equal(c.JWKS_COOLDOWN_SECONDS, 30);
  t.equal(c.BODY_LIMIT_BYTES, 1024 * 1024);
  t.equal(c.UPSTREAM_TIMEOUT_MS, 10_000);
  t.same(c.CORS_ORIGINS, ['http://localhost:8080']);
  t.same(c.IP_BLOCK_LIST, []);
  t.equal(c.TRUST_PROXY, false);
  t.equal(c.REDIS_URL, undefined);
  t.equal(c.UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS, 1000);
  t.equal(c.RATE_LIMIT_SYNC_MS, 0, 'exact rate-limit counters unless asked');
});

t.test('the development route table is valid', async (t) => {
  const routes = await loadRoutesFile(DEV_ROUTES_FILE);
  t.same(
    routes.map((r) => [r.name, r.prefix, r.upstream, r.rewritePrefix]),
    [
      ['orders', '/api/orders', 'http://127.0.0.1:4100', '/orders'],
      ['admin', '/api/admin', 'http://127.0.0.1:4100', '/admin'],
      ['shipments', '/api/shipments', 'http://127.0.0.1:4200', '/shipments'],
      ['invoices', '/api/invoices', 'http://127.0.0.1:4300', '/invoices'],
    ],
  );
});

t.test('TRUST_PROXY forms', async (t) => {
  t.equal(loadGatewayConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY, true);
  t.equal(loadGatewayConfig({ TRUST_PROXY: '2' }).TRUST_PROXY, 2);
  t.same(loadGatewayConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY, ['10.0.0.0/8', '127.0.0.1']);
});

t.test('a bad value names the setting', async (t) => {
  t.same(refusal({ GATEWAY_PORT: 'abc' }).settings, ['GATEWAY_PORT']);
  t.same(refusal({ TOKEN_SERVICE_URL: 'ftp://x' }).settings, ['TOKEN_SERVICE_URL']);
  t.same(refusal({ REDIS_URL: 'http://nope' }).settings, ['REDIS_URL']);
  t.same(refusal({ IP_BLOCK_LIST: '10.0.0.0/8,not-an-ip' }).settings, ['IP_BLOCK_LIST']);
  t.same(refusal({ IP_BLOCK_LIST: '10.0.0.0/33' }).settings, ['IP_BLOCK_LIST']);
  t.match(refusal({ CORS_ORIGINS: 'https://app.example.com/' }).settings, [/^CORS_ORIGINS/]);
  t.match(refusal({ CORS_ORIGINS: '*' }).settings, [/^CORS_ORIGINS/]);
  t.same(refusal({ BODY_LIMIT_BYTES: '0' }).settings, ['BODY_LIMIT_BYTES']);
  t.same(refusal({ UPSTREAM_TIMEOUT_MS: '-5' }).settings, ['UPSTREAM_TIMEOUT_MS']);
  t.same(refusal({ JWKS_COOLDOWN_SECONDS: '0' }).settings, ['JWKS_COOLDOWN_SECONDS']);
  for (const bad of ['-1', '2.5', 'often', '10001'])
    t.same(refusal({ RATE_LIMIT_SYNC_MS: bad }).settings, ['RATE_LIMIT_SYNC_MS'], `RATE_LIMIT_SYNC_MS=${bad}`);
  t.equal(loadGatewayConfig({ RATE_LIMIT_SYNC_MS: '100' }).RATE_LIMIT_SYNC_MS, 100);
  t.match(refusal({ LOG_LEVEL: 'loud' }).message, /LOG_LEVEL/);
});

t.test('production refuses unsafe development defaults, naming each', async (t) => {
  t.equal(loadGatewayConfig(production).NODE_ENV, 'production');
  t.same(loadGatewayConfig({ ...production, CORS_ORIGINS: '' }).CORS_ORIGINS, [], 'no CORS origin by default');
  const bare = refusal({ NODE_ENV: 'production' });
  t.same(bare.settings.sort(), ['REDIS_URL', 'ROUTES_FILE', 'TOKEN_SERVICE_URL']);
  t.same(refusal({ ...production, TOKEN_SERVICE_URL: 'http://id.example.com' }).settings, ['TOKEN_SERVICE_URL']);
  t.same(refusal({ ...production, CORS_ORIGINS: 'http://app.example.com' }).settings, ['CORS_ORIGINS']);
  t.same(refusal({ ...production, TRUST_PROXY: 'true' }).settings, ['TRUST_PROXY']);
  t.equal(loadGatewayConfig(production).BFF_COOKIE_SECRET, undefined, 'no BFF cookie secret by default');
  t.same(
    refusal({ ...production, BFF_COOKIE_SECRET: 'dev-bff-cookie-secret-change-me-0123456789' }).settings.sort(),
    ['BFF_COOKIE_SECRET', 'BFF_REDIRECT_URI'],
    'the development cookie secret, and an http redirect URI once the BFF is on',
  );
  t.same(refusal({ ...production, BFF_COOKIE_SECRET: 'short' }).settings, ['BFF_COOKIE_SECRET']);
  t.match(refusal({ ...production, TOKEN_SERVICE_URL: 'http://x' }).message, /https/);
});

t.test('a config file supplies settings; the environment wins', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-gwcfg-'));
  const file = join(dir, 'gateway.json');
  await writeFile(file, JSON.stringify({ GATEWAY_PORT: 9090, IP_BLOCK_LIST: ['10.0.0.1', '192.0.2.0/24'], UPSTREAM_TIMEOUT_MS: 500 }));
  const c = loadGatewayConfig({ GATEWAY_CONFIG_FILE: file, UPSTREAM_TIMEOUT_MS: '700' });
  t.equal(c.GATEWAY_PORT, 9090);
  t.same(c.IP_BLOCK_LIST, ['10.0.0.1', '192.0.2.0/24']);
  t.equal(c.UPSTREAM_TIMEOUT_MS, 700);
  t.same(refusal({ GATEWAY_CONFIG_FILE: join(dir, 'missing.json') }).settings, ['GATEWAY_CONFIG_FILE']);
});

t.test('main exits 78 on a bad setting or route table, naming it', async (t) => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
  const badPort = run({ GATEWAY_PORT: 'abc' });
  t.equal(badPort.status, 78);
  t.match(badPort.stderr, /GATEWAY_PORT/);
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-gwroutes-'));
  const file = join(dir, 'routes.json');
  await writeFile(file, JSON.stringify({ routes: [{ name: 'x', prefix: '/x', upstream: 'http://127.0.0.1:1', methods: ['GET'], auth: 'bearer', colour: 'red' }] }));
  const badRoutes = run({ ROUTES_FILE: file, AUDIT_LOG: join(dir, 'audit.jsonl') });
  t.equal(badRoutes.status, 78);
  t.match(badRoutes.stderr, /route "x" \(routes\[0\]\) colour/);
});
