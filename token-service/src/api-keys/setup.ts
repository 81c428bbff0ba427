/** Builds the API key service from the settings, or nothing when API keys are disabled. */
import type { Redis } from 'ioredis';
import { API_SCOPES } from '../clients.ts';
import type { TokenServiceConfig } from '../config.ts';
import type { ApiKeyExchangeDefaults } from '../policy/default-policy.ts';
import { environmentFor } from './format.ts';
import type { CreateKeyRules } from './input.ts';
import { memoryApiKeyStore } from './memory-store.ts';
import { redisApiKeyStore } from './redis-store.ts';
import { ApiKeyService } from './service.ts';

/** Production without API_KEY_HASH_SECRET: undefined (the admin API answers 503). */
export function createApiKeyService(config: TokenServiceConfig, redis: Redis | undefined): ApiKeyService | undefined {
  const unknown = config.API_KEY_SCOPES.filter((s) => !API_SCOPES.includes(s));
  // A key scope the API does not know would mint tokens no service understands.
  if (unknown.length > 0) throw new Error(`API_KEY_SCOPES: unknown API scopes: ${unknown.join(', ')}`);
  if (!config.API_KEY_HASH_SECRET) return undefined;
  return new ApiKeyService({
    store: redis ? redisApiKeyStore(redis) : memoryApiKeyStore(),
    secret: config.API_KEY_HASH_SECRET,
    environment: environmentFor(config.NODE_ENV),
  });
}

export function createKeyRules(config: TokenServiceConfig): CreateKeyRules {
  return { allowedScopes: config.API_KEY_SCOPES, maxLifetimeSeconds: config.API_KEY_MAX_LIFETIME };
}

export function apiKeyExchangeDefaults(config: TokenServiceConfig): ApiKeyExchangeDefaults {
  return { audience: config.API_RESOURCE, scopes: config.API_KEY_SCOPES, ttl: config.API_KEY_TOKEN_TTL };
}
