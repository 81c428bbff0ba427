/**
 * The shipping service's settings: the shared consumer settings plus its own SHIPPING_* ones, one
 * schema validated at start-up. SHIPPING_CONFIG_FILE may name a JSON file of the same names (the
 * environment wins). Production refuses the embedded database, the embedded bus, a plain-http
 * issuer and a missing deny list (services/consumer/src/config.ts).
 */
import { loadConfig, port } from '@gatehouse/config';
import { type ConsumerServiceConfig, consumerConfig, consumerSettings, host, topicName } from '@gatehouse/consumer';
import { z } from 'zod';

const schema = z
  .object({
    ...consumerSettings('shipping'),
    SHIPPING_HOST: host(),
    SHIPPING_PORT: port(4200),
    /** Embedded database files (development); in memory without. */
    SHIPPING_DATA_DIR: z.string().min(1).optional(),
    SHIPPING_GROUP_ID: topicName('shipping'),
    SHIPPING_DLQ_TOPIC: topicName('orders.shipping.dlq'),
  })
  .transform((c, ctx) =>
    consumerConfig(
      c,
      {
        name: 'shipping',
        host: c.SHIPPING_HOST,
        port: c.SHIPPING_PORT,
        dataDir: c.SHIPPING_DATA_DIR,
        groupId: c.SHIPPING_GROUP_ID,
        dlqTopic: c.SHIPPING_DLQ_TOPIC,
        names: { dataDir: 'SHIPPING_DATA_DIR' },
      },
      ctx,
    ),
  );

export type ShippingConfig = ConsumerServiceConfig;

export function loadShippingConfig(env: NodeJS.ProcessEnv = process.env): ShippingConfig {
  return loadConfig(schema, { env, fileVariable: 'SHIPPING_CONFIG_FILE' });
}
