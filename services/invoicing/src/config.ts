/**
 * The invoicing service's settings: the shared consumer settings plus its own INVOICING_* ones, one
 * schema validated at start-up. INVOICING_CONFIG_FILE may name a JSON file of the same names (the
 * environment wins). Production refuses the embedded database, the embedded bus, a plain-http
 * issuer and a missing deny list (services/consumer/src/config.ts).
 */
import { loadConfig, port } from '@gatehouse/config';
import { type ConsumerServiceConfig, consumerConfig, consumerSettings, host, topicName } from '@gatehouse/consumer';
import { z } from 'zod';

const schema = z
  .object({
    ...consumerSettings('invoicing'),
    INVOICING_HOST: host(),
    INVOICING_PORT: port(4300),
    /** Embedded database files (development); in memory without. */
    INVOICING_DATA_DIR: z.string().min(1).optional(),
    INVOICING_GROUP_ID: topicName('invoicing'),
    INVOICING_DLQ_TOPIC: topicName('orders.invoicing.dlq'),
  })
  .transform((c, ctx) =>
    consumerConfig(
      c,
      {
        name: 'invoicing',
        host: c.INVOICING_HOST,
        port: c.INVOICING_PORT,
        dataDir: c.INVOICING_DATA_DIR,
        groupId: c.INVOICING_GROUP_ID,
        dlqTopic: c.INVOICING_DLQ_TOPIC,
        names: { dataDir: 'INVOICING_DATA_DIR' },
      },
      ctx,
    ),
  );

export type InvoicingConfig = ConsumerServiceConfig;

export function loadInvoicingConfig(env: NodeJS.ProcessEnv = process.env): InvoicingConfig {
  return loadConfig(schema, { env, fileVariable: 'INVOICING_CONFIG_FILE' });
}
