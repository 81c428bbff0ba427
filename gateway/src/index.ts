/** @gatehouse/gateway: the API gateway core (route table, auth, authz, proxy, hardening). */
export { type BuildOptions, buildGateway, type Gateway, requestId } from './app.ts';
export {
  type AuthenticateDeps,
  accessTokenProfile,
  authenticateHook,
  type CredentialRefusal,
  extractBearer,
} from './authenticate.ts';
export { type Authorization, authorize, authorizeHook, bearerChallenge } from './authorize.ts';
export { DEV_CORS_ORIGINS, DEV_ROUTES_FILE, type GatewayConfig, loadGatewayConfig } from './config.ts';
export { isBlocked, parseBlockList, registerHardening } from './hardening.ts';
export { countRequests, type GatewayMetrics, gatewayMetrics } from './metrics.ts';
export {
  installProblemHandlers,
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_PREFIX,
  type Problem,
  type ProblemInit,
  problem,
  sendProblem,
} from './problem.ts';
export {
  GATEWAY_HEADER_PREFIX,
  isStrippedHeader,
  registerRouteProxy,
  STRIPPED_HEADER_PREFIXES,
  STRIPPED_HEADERS,
  setUpstreamHeader,
  publicLocation,
  upstreamHeaders,
} from './proxy.ts';
export { startGateway } from './main.ts';
export { helmetHeaders, type SecurityHeadersOptions, securityHeaders } from './security-headers.ts';
export {
  AUTH_MODES,
  allowedMethods,
  type AuthMode,
  defaultRewritePrefix,
  HTTP_METHODS,
  type HttpMethod,
  loadRoutesFile,
  parseRoutes,
  RATE_LIMIT_POLICIES,
  type Route,
  RouteTableError,
  requiredScopes,
} from './routes.ts';
