import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@gatehouse/config';
import { DEFAULT_EXPIRY_POLICY } from '@gatehouse/consumer';
import t from 'tap';
import { loadShippingConfig } from '../src/config.ts';

const PRODUCTION = {
  NODE_ENV: 'production',
  TOKEN_SERVICE_URL: 'https://id.example.com',
  DATABASE_URL: 'postgres://shipping@db.example.com:5432/shipping',
  KAFKA_BROKERS: 'kafka-1.example.com:9093,kafka-2.example.com:9093',
  KAFKA_SSL: 'true',
  REDIS_URL: 'rediss://redis.example.com:6380',
};

const refusedSettings = (env: Record<string, string>): string[] => {
  try {
    loadShippingConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.settings].sort();
    throw error;
  }
  return [];
};

t.test('development defaults', async (t) => {
  const config = loadShippingConfig({});
  t.match(config, {
    name: 'shipping',
    mode: 'development',
    host: '127.0.0.1',
    port: 4200,
    tokenServiceUrl: 'http://localhost:4000',
    apiAudience: 'urn:gatehouse:api',
    databaseUrl: undefined,
    dataDir: undefined,
    eventsTopic: 'orders',
    groupId: 'shipping',
    dlqTopic: 'orders.shipping.dlq',
    auditLog: '.gatehouse/audit/shipping.jsonl',
    verifyThreads: 1,
    proofAlgorithms: ['ES256', 'EdDSA'],
  });
  t.same(config.expiryPolicy, DEFAULT_EXPIRY_POLICY, "docs/events.md's replay policy");
  t.same(config.expiryPolicy.replay, { allowedClients: ['sales'], eventTypes: ['orders.created'], maxEventAgeSeconds: 604_800 });
});

t.test('own settings override the defaults', async (t) => {
  const config = loadShippingConfig({
    SHIPPING_PORT: '5200',
    SHIPPING_GROUP_ID: 'shipping-eu',
    SHIPPING_DLQ_TOPIC: 'orders.shipping-eu.dlq',
    EVENTS_TOPIC: 'orders-eu',
    TOKEN_SERVICE_URL: 'http://localhost:4000/',
    EVENT_VERIFY_THREADS: '0',
  });
  t.equal(config.verifyThreads, 0, 'signatures on the event loop');
  t.same(loadShippingConfig({ EVENT_PROOF_ALGORITHMS: ' RS256, ES256 ' }).proofAlgorithms, ['RS256', 'ES256']);
  t.match(config, { port: 5200, groupId: 'shipping-eu', dlqTopic: 'orders.shipping-eu.dlq', eventsTopic: 'orders-eu' });
  t.equal(config.tokenServiceUrl, 'http://localhost:4000', 'trailing slash dropped: it is the exact issuer');
});

t.test('bad values are refused naming the setting', async (t) => {
  t.same(refusedSettings({ SHIPPING_PORT: '0' }), ['SHIPPING_PORT']);
  t.same(refusedSettings({ DATABASE_URL: 'mysql://db/shipping' }), ['DATABASE_URL']);
  t.same(refusedSettings({ SHIPPING_DLQ_TOPIC: 'orders shipping' }), ['SHIPPING_DLQ_TOPIC']);
  t.same(refusedSettings({ REDIS_URL: 'http://redis' }), ['REDIS_URL']);
  for (const threads of ['17', '-1', '1.5', 'many']) {
    t.same(refusedSettings({ EVENT_VERIFY_THREADS: threads }), ['EVENT_VERIFY_THREADS'], `EVENT_VERIFY_THREADS=${threads}`);
  }
  // Symmetric (a consumer could forge), none, unknown, or an empty list.
  for (const algorithms of ['HS256', 'ES256,none', 'ES257', ',']) {
    t.same(refusedSettings({ EVENT_PROOF_ALGORITHMS: algorithms }), ['EVENT_PROOF_ALGORITHMS'], `EVENT_PROOF_ALGORITHMS=${algorithms}`);
  }
  t.same(refusedSettings({ KAFKA_BROKERS: 'kafka:9092', KAFKA_SASL_MECHANISM: 'plain' }).includes('KAFKA_SASL_USERNAME'), true);
});

t.test('EXPIRY_POLICY_FILE: a policy file replaces the default; a bad one stops start-up', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-policy-'));
  const strict = join(dir, 'strict.json');
  await writeFile(strict, '{}');
  t.same(loadShippingConfig({ EXPIRY_POLICY_FILE: strict }).expiryPolicy, {}, 'strict: no replay at all');

  const narrow = join(dir, 'narrow.json');
  await writeFile(
    narrow,
    JSON.stringify({ replay: { allowedClients: ['sales'], eventTypes: ['orders.created'], maxEventAgeSeconds: 3600 } }),
  );
  t.equal(loadShippingConfig({ EXPIRY_POLICY_FILE: narrow }).expiryPolicy.replay?.maxEventAgeSeconds, 3600);

  const misspelt = join(dir, 'misspelt.json');
  await writeFile(misspelt, JSON.stringify({ replays: {} }));
  const notJson = join(dir, 'broken.json');
  await writeFile(notJson, '{ replay');
  for (const file of [misspelt, notJson, join(dir, 'missing.json')]) {
    t.same(refusedSettings({ EXPIRY_POLICY_FILE: file }), ['EXPIRY_POLICY_FILE'], file);
  }
});

t.test('production refuses what only suits a developer machine', async (t) => {
  t.ok(loadShippingConfig(PRODUCTION), 'a complete production configuration starts');
  t.same(refusedSettings({ NODE_ENV: 'production' }), ['DATABASE_URL', 'KAFKA_BROKERS', 'REDIS_URL', 'TOKEN_SERVICE_URL']);
  t.same(refusedSettings({ ...PRODUCTION, SHIPPING_DATA_DIR: '/var/lib/shipping' }), ['SHIPPING_DATA_DIR']);
  t.same(refusedSettings({ ...PRODUCTION, TOKEN_SERVICE_URL: 'http://id.example.com' }), ['TOKEN_SERVICE_URL']);
  t.same(refusedSettings({ ...PRODUCTION, KAFKA_SSL: 'false', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'shipping', KAFKA_SASL_PASSWORD: 'x' }), [
    'KAFKA_SSL',
  ]);
});
