export type { RetryBackoff } from './backoff.ts';
export { createEmbeddedBus, type EmbeddedBus, type EmbeddedBusOptions } from './embedded.ts';
export { EventBusError, type EventBusErrorCode } from './errors.ts';
export { createKafkaBus, type KafkaBus, type KafkaBusOptions, type KafkaSasl, type KafkaTls } from './kafka.ts';
export type { KafkaConsumerTuning } from './kafka-consumer.ts';
export { murmur2, partitionForKey } from './murmur2.ts';
export {
  busFromSettings,
  type KafkaSettings,
  kafkaOptionsFromConfig,
  kafkaSettings,
  kafkaSettingsIssues,
  refineKafkaSettings,
  type SettingIssue,
} from './settings.ts';
export type {
  Consumer,
  ConsumerOptions,
  DeliveredMessage,
  EventBus,
  Headers,
  OutgoingMessage,
  Producer,
} from './types.ts';
