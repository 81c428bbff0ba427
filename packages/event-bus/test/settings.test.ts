import { join } from 'node:path';
import { loadConfig, mode } from '@gatehouse/config';
import { createLogger } from '@gatehouse/observability';
import t, { type Test } from 'tap';
import { z } from 'zod';
import { busFromSettings, kafkaOptionsFromConfig, kafkaSettings, refineKafkaSettings } from '../src/settings.ts';

// A deployable's schema, as services spread it in.
const schema = z.object({ NODE_ENV: mode().default('development'), ...kafkaSettings }).superRefine(refineKafkaSettings);
const load = (env: Record<string, string>) => loadConfig(schema, { env });
const logger = createLogger('shipping', 'silent');

const refused = (t: Test, env: Record<string, string>, setting: string, message: RegExp) =>
  t.throws(() => load(env), { name: 'ConfigError', code: 'CONFIG_INVALID', settings: [setting], message }, setting);

t.test('without KAFKA_BROKERS there is no Kafka bus', async (t) => {
  const settings = load({});
  t.same(settings.KAFKA_BROKERS, []);
  t.equal(kafkaOptionsFromConfig(settings, logger), undefined);
  t.equal(busFromSettings(settings, logger), undefined);
});

t.test('brokers, client id and defaults', async (t) => {
  const settings = load({ KAFKA_BROKERS: 'kafka-0:9092, kafka-1:9093' });
  t.same(kafkaOptionsFromConfig(settings, logger), {
    brokers: ['kafka-0:9092', 'kafka-1:9093'],
    clientId: 'shipping',
    ssl: false,
    logger,
  });
  t.equal(kafkaOptionsFromConfig(settings)?.clientId, 'gatehouse', 'without a logger');
  const named = load({ KAFKA_BROKERS: 'kafka:9092', KAFKA_CLIENT_ID: 'shipping-eu', KAFKA_SSL: 'true' });
  t.match(kafkaOptionsFromConfig(named, logger), { clientId: 'shipping-eu', ssl: true });
  const bus = busFromSettings(named, logger);
  t.equal(bus?.kind, 'kafka');
  await bus?.close();
});

t.test('KAFKA_COMMIT_INTERVAL_MS reaches the consumers (0 commits every message)', async (t) => {
  for (const [value, expected] of [
    ['250', 250],
    ['0', 0],
  ] as const) {
    const settings = load({ KAFKA_BROKERS: 'kafka:9092', KAFKA_COMMIT_INTERVAL_MS: value });
    t.same(kafkaOptionsFromConfig(settings, logger)?.consumer, { commitIntervalMs: expected }, value);
  }
});

t.test('refused settings name the setting', async (t) => {
  refused(t, { KAFKA_BROKERS: 'kafka' }, 'KAFKA_BROKERS', /host:port/);
  refused(t, { KAFKA_SSL: 'maybe' }, 'KAFKA_SSL', /true or false/);
  refused(t, { KAFKA_SASL_MECHANISM: 'gssapi' }, 'KAFKA_SASL_MECHANISM', /scram-sha-256/);
  refused(t, { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, 'KAFKA_SASL_MECHANISM', /required/);
  refused(t, { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'p' }, 'KAFKA_SASL_USERNAME', /required/);
  refused(t, { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_PASSWORD_FILE', /required/);
  refused(
    t,
    { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_SASL_PASSWORD_FILE: '/p' },
    'KAFKA_SASL_PASSWORD',
    /not both/,
  );
  refused(
    t,
    { NODE_ENV: 'production', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
    'KAFKA_SSL',
    /plain in production/,
  );
  refused(t, { KAFKA_SSL_CA_FILE: '/ca.pem' }, 'KAFKA_SSL_CA_FILE', /KAFKA_SSL=true/);
  for (const [value, message] of [
    ['-1', /0 or more/],
    ['1.5', /whole number/],
    ['soon', /a number of milliseconds/],
    ['3600001', /at most 3600000/],
  ] as const) {
    refused(t, { KAFKA_COMMIT_INTERVAL_MS: value }, 'KAFKA_COMMIT_INTERVAL_MS', message);
  }
  refused(t, { KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: '/cert.pem' }, 'KAFKA_SSL_KEY_FILE', /go together/);
  refused(t, { KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: '/key.pem' }, 'KAFKA_SSL_CERT_FILE', /go together/);
  t.doesNotThrow(
    () => load({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }),
    'plain without TLS is allowed in development',
  );
});

t.test('kafkaOptionsFromConfig refuses the same combinations when called on unrefined settings', async (t) => {
  const unrefined = z.object(kafkaSettings).parse({ KAFKA_BROKERS: 'kafka:9092', KAFKA_SASL_MECHANISM: 'plain' });
  t.throws(() => kafkaOptionsFromConfig(unrefined), {
    name: 'ConfigError',
    settings: ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD_FILE'],
  });
});

t.test('TLS files and the password file are read; a missing one is named', async (t) => {
  const dir = t.testdir({ 'ca.pem': 'CA', 'cert.pem': 'CERT', 'key.pem': 'KEY', password: 's3cret\n' });
  const settings = load({
    NODE_ENV: 'production',
    KAFKA_BROKERS: 'kafka:9093',
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: join(dir, 'ca.pem'),
    KAFKA_SSL_CERT_FILE: join(dir, 'cert.pem'),
    KAFKA_SSL_KEY_FILE: join(dir, 'key.pem'),
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'shipping',
    KAFKA_SASL_PASSWORD_FILE: join(dir, 'password'),
  });
  const options = kafkaOptionsFromConfig(settings, logger)!;
  t.same(options.ssl, { ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') });
  t.same(options.sasl, { mechanism: 'scram-sha-512', username: 'shipping', password: 's3cret' }, 'trailing newline dropped');

  const inline = load({ KAFKA_BROKERS: 'kafka:9092', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'pw' });
  t.same(kafkaOptionsFromConfig(inline)?.sasl, { mechanism: 'plain', username: 'u', password: 'pw' });

  const missing = load({ KAFKA_BROKERS: 'kafka:9092', KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'nope.pem') });
  t.throws(() => kafkaOptionsFromConfig(missing), { name: 'ConfigError', settings: ['KAFKA_SSL_CA_FILE'], message: /cannot read/ });
});
