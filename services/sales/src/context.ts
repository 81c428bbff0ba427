/** What the routes share, assembled once by app.ts. */
import type { Producer } from '@gatehouse/event-bus';
import type { AuditLog } from '@gatehouse/observability';
import type { Database } from '@gatehouse/sql';
import type { TokenProfile, Validator } from '@gatehouse/validator';
import type { SalesConfig } from './config.ts';
import type { AuthDeps } from './http/authenticate.ts';
import type { SalesMetrics } from './metrics.ts';
import type { Relay } from './outbox/relay.ts';
import type { GrantClient } from './replay/grant-client.ts';
import type { SigningKey } from './signing-key.ts';

export interface SalesContext {
  config: SalesConfig;
  db: Database;
  validator: Validator;
  auth: AuthDeps;
  messageProfile: TokenProfile;
  signingKey: SigningKey;
  relay: Relay;
  producer: () => Promise<Producer>;
  grants: GrantClient;
  audit: AuditLog;
  metrics: SalesMetrics;
}
