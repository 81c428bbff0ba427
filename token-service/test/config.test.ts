import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@gatehouse/config';
import { ensureDevKeyStore } from '@gatehouse/keys';
import t from 'tap';
import { PRODUCTION_SETTINGS as prodSecrets } from './support/token-service.ts';
import { hashPassword } from '../src/accounts.ts';
import { buildTokenService } from '../src/app.ts';
import { loadTokenServiceConfig } from '../src/config.ts';


function refusal(env: Record<string, string>): ConfigError {
  try {
    loadTokenServiceConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

t.test('development defaults load', async (t) => {
  const config = loadTokenServiceConfig({});
  t.equal(config.ISSUER, 'http://localhost:4000');
  t.equal(config.TOKEN_SERVICE_PORT, 4000);
  t.equal(config.ACCESS_TOKEN_TTL, 900);
  t.equal(config.MESSAGE_TOKEN_TTL, 86400);
  t.equal(loadTokenServiceConfig({ TOKEN_SERVICE_PORT: '4100' }).ISSUER, 'http://localhost:4100');
});

t.test('a bad value names the setting', async (t) => {
  t.same(refusal({ TOKEN_SERVICE_PORT: 'abc' }).settings, ['TOKEN_SERVICE_PORT']);
  t.same(refusal({ REDIS_URL: 'http://nope' }).settings, ['REDIS_URL']);
  t.same(refusal({ DEMO_USER_PASSWORD: 'short' }).settings, ['DEMO_USER_PASSWORD']);
  t.same(refusal({ ACCESS_TOKEN_TTL: '0' }).settings, ['ACCESS_TOKEN_TTL']);
  t.same(refusal({ DEMO_USERS: 'maybe' }).settings, ['DEMO_USERS']);
  t.match(refusal({ TOKEN_SERVICE_PORT: '70000' }).message, /TOKEN_SERVICE_PORT/);
});

t.test('a config file supplies settings; the environment wins', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-cfg-'));
  const file = join(dir, 'ts.json');
  await writeFile(
    file,
    JSON.stringify({
      TOKEN_SERVICE_PORT: 4200,
      ACCESS_TOKEN_TTL: 300,
      DEMO_USERS: false,
      GATEWAY_REDIRECT_URIS: ['https://a.example/cb', 'https://b.example/cb'],
    }),
  );
  const config = loadTokenServiceConfig({ TOKEN_SERVICE_CONFIG_FILE: file, ACCESS_TOKEN_TTL: '600' });
  t.equal(config.TOKEN_SERVICE_PORT, 4200);
  t.equal(config.ACCESS_TOKEN_TTL, 600);
  t.equal(config.DEMO_USERS, false, 'booleans as JSON booleans');
  t.same(config.GATEWAY_REDIRECT_URIS, ['https://a.example/cb', 'https://b.example/cb'], 'lists as JSON arrays');
  await writeFile(file, JSON.stringify({ LOCKOUT_SECONDS: { nested: true } }));
  t.same(refusal({ TOKEN_SERVICE_CONFIG_FILE: file }).settings, ['LOCKOUT_SECONDS']);
  await writeFile(file, '{not json');
  t.same(refusal({ TOKEN_SERVICE_CONFIG_FILE: file }).settings, ['TOKEN_SERVICE_CONFIG_FILE']);
});

t.test('production refuses every development default', async (t) => {
  t.doesNotThrow(() => loadTokenServiceConfig(prodSecrets), 'a complete production config loads');
  const cases: Array<[string, Record<string, string | undefined>]> = [
    ['ISSUER', { ISSUER: 'http://id.example.com' }],
    ['DEMO_USERS', { DEMO_USERS: 'true' }],
    ['ACCOUNTS_FILE', { ACCOUNTS_FILE: undefined }],
    ['REDIS_URL', { REDIS_URL: undefined }],
    ['GATEWAY_CLIENT_SECRET', { GATEWAY_CLIENT_SECRET: undefined }],
    ['SALES_CLIENT_SECRET', { SALES_CLIENT_SECRET: undefined }],
    ['SHIPPING_CLIENT_SECRET', { SHIPPING_CLIENT_SECRET: undefined }],
    ['INVOICING_CLIENT_SECRET', { INVOICING_CLIENT_SECRET: undefined }],
    ['COOKIE_KEYS', { COOKIE_KEYS: undefined }],
  ];
  for (const [setting, change] of cases) {
    const env = Object.fromEntries(
      Object.entries({ ...prodSecrets, ...change }).filter(([, v]) => v !== undefined),
    ) as Record<string, string>;
    t.same(refusal(env).settings, [setting], `refuses ${setting}`);
  }
});

t.test('production refuses development keys and demo accounts at start-up', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-prod-'));
  const accounts = join(dir, 'accounts.json');
  await writeFile(
    accounts,
    JSON.stringify([
      { id: 'u1', username: 'ops', passwordHash: await hashPassword('a-real-long-password'), org_id: 'acme' },
    ]),
  );
  const keystore = join(dir, 'keystore.json');
  await ensureDevKeyStore(keystore);
  const config = loadTokenServiceConfig({
    ...prodSecrets,
    ACCOUNTS_FILE: accounts,
    KEYSTORE_PATH: keystore,
    CLIENT_KEYS_DIR: join(dir, 'clients'),
    AUDIT_LOG: join(dir, 'audit.jsonl'),
    LOG_LEVEL: 'silent',
  });
  await t.rejects(buildTokenService(config), /KEYSTORE_PATH: .* development keys/);
});

t.test('the process stops with a message naming the setting', async (t) => {
  const result = spawnSync(process.execPath, [join(import.meta.dirname, '../src/main.ts')], {
    env: { PATH: process.env.PATH, TOKEN_SERVICE_PORT: 'not-a-port' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.equal(result.status, 78, 'EX_CONFIG');
  t.match(result.stderr, /TOKEN_SERVICE_PORT/);
  const production = spawnSync(process.execPath, [join(import.meta.dirname, '../src/main.ts')], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.equal(production.status, 78);
  t.match(production.stderr, /GATEWAY_CLIENT_SECRET: production refuses the development default secret/);
});
