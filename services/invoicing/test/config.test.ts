import { ConfigError } from '@gatehouse/config';
import t from 'tap';
import { loadInvoicingConfig } from '../src/config.ts';

t.test('invoicing has its own port, group, dead-letter topic and audit log', async (t) => {
  t.match(loadInvoicingConfig({}), {
    name: 'invoicing',
    port: 4300,
    groupId: 'invoicing',
    dlqTopic: 'orders.invoicing.dlq',
    auditLog: '.gatehouse/audit/invoicing.jsonl',
  });
  t.equal(loadInvoicingConfig({ INVOICING_PORT: '5300' }).port, 5300);
});

t.test('production refuses the embedded database and names its setting', async (t) => {
  const error = t.throws(() =>
    loadInvoicingConfig({
      NODE_ENV: 'production',
      TOKEN_SERVICE_URL: 'https://id.example.com',
      KAFKA_BROKERS: 'kafka:9093',
      REDIS_URL: 'rediss://redis:6380',
      INVOICING_DATA_DIR: '/var/lib/invoicing',
    }),
  ) as ConfigError;
  t.type(error, ConfigError);
  t.same([...error.settings].sort(), ['DATABASE_URL', 'INVOICING_DATA_DIR']);
});
