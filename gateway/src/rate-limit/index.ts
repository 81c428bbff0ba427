export { type FailMode, rateLimits, type RateLimitsOptions, type RouteRateLimitOptions } from './plugin.ts';
export {
  DEFAULT_POLICIES,
  isRateLimitPolicyName,
  RATE_LIMIT_POLICY_NAMES,
  type RateLimitFacts,
  rateLimitKey,
  type RateLimitPolicies,
  type RateLimitPolicyName,
  type RateLimitPolicyOverrides,
  type RateLimitWindow,
  resolvePolicies,
} from './policy.ts';
export { closeGatewayRedis, createGatewayRedis, waitReady } from './redis.ts';
