/**
 * @gatehouse/consumer: what the event consumers (shipping, invoicing) share: the runtime that
 * verifies, dedupes, applies or dead-letters every record, and the HTTP side of a consumer (read
 * API with bearer auth, problem+json, ops endpoints), the shared settings and the assembly.
 */
export {
  type ConsumerServiceConfig,
  consumerConfig,
  consumerSettings,
  DEFAULT_EXPIRY_POLICY,
  host,
  type OwnSettings,
  proofAlgorithms,
  topicName,
} from './config.ts';
export { REVOKED_JTI_PREFIX, redisDenyList } from './deny-list.ts';
export { type BearerAuthOptions, type Hook, requireBearer } from './http/authenticate.ts';
export {
  accessTokenProfile,
  bearerChallenge,
  bearerOf as extractBearer,
  installProblemHandlers,
  notFound,
  PROBLEM_CONTENT_TYPE,
  sendProblem,
} from '@gatehouse/service-http';
export { MAX_PAGE, type ReadRoutesOptions, registerReadRoutes } from './http/read-routes.ts';
export { buildReadApi, type ReadApi, type ReadApiOptions, visibilityOrRefuse } from './http/server.ts';
export { type RunOptions, runConsumerService, type RunningService, runUntilSignal } from './main.ts';
export { type ConsumerMetrics, consumerMetrics } from './metrics.ts';
export { ORDER_CREATED, type OrderCreated, type OrderCreatedData, orderCreated } from './orders.ts';
export { claimEvent, PROCESSED_EVENTS_MIGRATION, type ProcessedEvent } from './processed-events.ts';
export {
  type ApplyEvent,
  type EventVerifier,
  originOf,
  type RecordHandlerOptions,
  type RecordOutcome,
  recordHandler,
} from './record.ts';
export { EventRejected, type EventRejectionCode, isEventRejected } from './rejection.ts';
export { type RunningConsumer, type StartConsumerOptions, startConsumer } from './runtime.ts';
export {
  buildConsumerService,
  type ConsumerService,
  type ConsumerServiceDeps,
  type ConsumerServiceSpec,
  consumerAudience,
} from './service.ts';
export { ADMIN_ROLE, type Visibility, visibilityClause, visibilityOf, visibilityParams } from './visibility.ts';
