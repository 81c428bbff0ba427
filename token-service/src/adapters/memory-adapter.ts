/**
 * The development store for oidc-provider state, created once per token service. oidc-provider
 * gives each Provider instance a memory store of its own; the token service builds a new
 * Provider when its signing keys change, so the store must outlive any one instance or every
 * session, grant and refresh token would vanish with a key rotation. Production uses Redis.
 */

import type { Configuration } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

export function sharedMemoryAdapter(): NonNullable<Configuration['adapter']> {
  return createMemoryAdapter(0) as NonNullable<Configuration['adapter']>;
}
