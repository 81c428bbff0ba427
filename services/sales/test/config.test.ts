import { spawnSync } from 'node:child_process';
import t from 'tap';
import { CONSUMER_AUDIENCES, DEV_SALES_CLIENT_SECRET, loadSalesConfig } from '../src/config.ts';

const PRODUCTION: Record<string, string> = {
  NODE_ENV: 'production',
  TOKEN_SERVICE_URL: 'https://id.example.com',
  DATABASE_URL: 'postgres://sales@db.example.com:5432/sales',
  KAFKA_BROKERS: 'kafka-0.example.com:9093',
  KAFKA_SSL: 'true',
  SALES_SIGNING_KEY_FILE: '/etc/gatehouse/sales.private.jwk.json',
  SALES_CLIENT_SECRET: 'prod-sales-secret-0123456789',
  REDIS_URL: 'rediss://redis.example.com:6380/0',
};

function refusal(env: Record<string, string | undefined>): { settings: string[]; message: string } {
  try {
    loadSalesConfig(env as NodeJS.ProcessEnv);
  } catch (error) {
    return error as { settings: string[]; message: string };
  }
  throw new Error('expected a configuration error');
}

t.test('development defaults', async (t) => {
  const c = loadSalesConfig({});
  t.equal(c.SALES_PORT, 4100);
  t.equal(c.SALES_HOST, '127.0.0.1');
  t.equal(c.TOKEN_SERVICE_URL, 'http://localhost:4000');
  t.equal(c.API_AUDIENCE, 'urn:gatehouse:api');
  t.equal(c.DATABASE_URL, undefined, 'embedded database');
  t.equal(c.SALES_SIGNING_KEY_FILE, '.gatehouse/clients/sales.private.jwk.json');
  t.equal(c.SALES_CLIENT_SECRET, DEV_SALES_CLIENT_SECRET);
  t.equal(c.EVENTS_TOPIC, 'orders');
  t.equal(c.MESSAGE_TOKEN_HEADER, 'x-gatehouse-message-token');
  t.same(c.MESSAGE_TOKEN_AUDIENCES, CONSUMER_AUDIENCES);
  t.same(c.KAFKA_BROKERS, [], 'no Kafka: embedded bus');
});

t.test('a complete production configuration loads', async (t) => {
  const c = loadSalesConfig(PRODUCTION);
  t.equal(c.NODE_ENV, 'production');
  t.same(c.KAFKA_BROKERS, ['kafka-0.example.com:9093']);
});

t.test('production refuses development defaults, naming the setting', async (t) => {
  const cases: Array<[string, Record<string, string | undefined>]> = [
    ['SALES_CLIENT_SECRET', { SALES_CLIENT_SECRET: DEV_SALES_CLIENT_SECRET }],
    ['SALES_CLIENT_SECRET', { SALES_CLIENT_SECRET: undefined }],
    ['SALES_SIGNING_KEY_FILE', { SALES_SIGNING_KEY_FILE: undefined }],
    ['DATABASE_URL', { DATABASE_URL: undefined }],
    ['KAFKA_BROKERS', { KAFKA_BROKERS: undefined }],
    ['TOKEN_SERVICE_URL', { TOKEN_SERVICE_URL: 'http://id.example.com' }],
    ['REDIS_URL', { REDIS_URL: undefined }],
  ];
  for (const [setting, change] of cases) {
    const env = { ...PRODUCTION, ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete env[k];
    const error = refusal(env);
    t.ok(error.settings.includes(setting), `${setting} named (${JSON.stringify(change)})`);
  }
});

t.test('bad values are refused', async (t) => {
  t.ok(refusal({ SALES_PORT: '70000' }).settings.includes('SALES_PORT'));
  t.ok(refusal({ DATABASE_URL: 'mysql://x' }).settings.includes('DATABASE_URL'));
  t.ok(refusal({ EVENTS_TOPIC: 'bad topic' }).settings.includes('EVENTS_TOPIC'));
  t.ok(refusal({ MESSAGE_TOKEN_HEADER: 'authorization' }).settings.includes('MESSAGE_TOKEN_HEADER'));
  t.ok(refusal({ SALES_CLIENT_SECRET: 'short' }).settings.includes('SALES_CLIENT_SECRET'));
  t.ok(refusal({ OUTBOX_POLL_MS: '0' }).settings.includes('OUTBOX_POLL_MS'));
  t.ok(refusal({ REDIS_URL: 'http://redis' }).settings.includes('REDIS_URL'));
  t.ok(refusal({ KAFKA_SASL_USERNAME: 'u' }).settings.includes('KAFKA_SASL_MECHANISM'), 'Kafka settings refined too');
});

t.test('main exits 78 naming the bad setting', async (t) => {
  const main = new URL('../src/main.ts', import.meta.url).pathname;
  const result = spawnSync(process.execPath, [main], {
    env: { PATH: process.env.PATH, SALES_PORT: 'eighty', LOG_LEVEL: 'silent' },
    encoding: 'utf8',
  });
  t.equal(result.status, 78);
  t.match(result.stderr, /SALES_PORT/);
  const noKey = spawnSync(process.execPath, [main], {
    env: { PATH: process.env.PATH, SALES_SIGNING_KEY_FILE: '/nonexistent/sales.private.jwk.json', LOG_LEVEL: 'silent' },
    encoding: 'utf8',
  });
  t.equal(noKey.status, 78, 'a missing key file is a configuration error');
  t.match(noKey.stderr, /SALES_SIGNING_KEY_FILE: cannot read/);
});
