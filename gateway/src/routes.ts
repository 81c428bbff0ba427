/**
 * The route table: which path prefixes the gateway proxies, where to, and who may call them.
 * Loaded once at start-up from ROUTES_FILE and validated strictly: an unknown key, a duplicate
 * prefix or a scope map that leaves a method unprotected stops the process with a message naming
 * the route and the field. See gateway/README.md for the format.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const AUTH_MODES = ['bearer', 'session', 'api-key', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** The route's authentication modes as a list. */
export function authModes(route: { auth: AuthMode | AuthMode[] }): AuthMode[] {
  return Array.isArray(route.auth) ? [...new Set(route.auth)] : [route.auth];
}

export const RATE_LIMIT_POLICIES = ['user', 'client', 'api-key', 'ip', 'public'] as const;

const method = z.enum(HTTP_METHODS, { message: `expected one of ${HTTP_METHODS.join(', ')}` });
// RFC 6749 3.3 scope-token: printable ASCII except space, " and \.
const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'not a valid scope token');

const rateLimit = z.strictObject({
  policy: z.enum(RATE_LIMIT_POLICIES),
  /** What to do when the shared store (Redis) is down: let requests through or refuse them. */
  failMode: z.enum(['open', 'closed']).optional(),
});

const exchange = z.strictObject({
  /** The consuming services of the topic: the message token's aud. */
  audience: z.array(z.string().min(1)).min(1),
  scope: z.string().min(1).optional(),
  ttl: z.number().int().positive().optional(),
  /** The producing client whose key the message token is bound to (cnf). */
  producer: z.string().min(1),
});

const routeSchema = z.strictObject({
  /** Stable name: the metrics label and audit field. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
  /** A literal path prefix: no parameters or wildcards, no trailing slash. */
  prefix: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'a literal path like /api/orders (no trailing slash, : or *)'),
  /** Origin of the upstream service; the path comes from rewritePrefix. */
  upstream: z
    .url({ protocol: /^https?$/, message: 'expected an http(s) URL' })
    .refine((v) => new URL(v).origin === v.replace(/\/$/, ''), 'an origin only (no path, query or fragment)')
    .transform((v) => v.replace(/\/$/, '')),
  /** What the prefix becomes upstream. Defaults to the prefix without a leading /api. */
  rewritePrefix: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]*)+$/, 'a literal path like /orders')
    .optional(),
  methods: z.array(method).min(1),
  /**
   * One mode, or several credential-carrying modes: the request's credential picks one
   * (Authorization → bearer, X-API-Key → api-key, the session cookie → session), so the browser UI
   * and API clients can share a route.
   */
  auth: z.union([z.enum(AUTH_MODES), z.array(z.enum(['bearer', 'session', 'api-key'])).min(1)]),
  /** All required. An array applies to every method; a map names the scopes of each method. */
  scopes: z.union([z.array(scopeToken), z.partialRecord(method, z.array(scopeToken))]).default([]),
  /** Any one of them suffices. */
  roles: z.array(z.string().min(1)).default([]),
  rateLimit: rateLimit.optional(),
  exchange: exchange.optional(),
});

export type Route = z.output<typeof routeSchema> & { rewritePrefix: string };

const tableSchema = z.strictObject({ routes: z.array(routeSchema).min(1) });

/** Why a route table was refused: one line per problem, each naming the route and the field. */
export class RouteTableError extends Error {
  readonly code = 'ROUTES_INVALID';
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`Invalid route table ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'RouteTableError';
    this.problems = problems;
  }
}

export async function loadRoutesFile(path: string): Promise<Route[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new RouteTableError(path, [`cannot read the file (${(cause as Error).message})`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RouteTableError(path, ['not valid JSON']);
  }
  return parseRoutes(value, path);
}

/** Validates a route table ({ routes: [...] }) and fills in defaults. */
export function parseRoutes(value: unknown, source = '(inline)'): Route[] {
  const parsed = tableSchema.safeParse(value);
  if (!parsed.success) {
    throw new RouteTableError(
      source,
      parsed.error.issues.map((issue) => describeIssue(value, issue)),
    );
  }
  const routes = parsed.data.routes.map((r) => ({
    ...r,
    rewritePrefix: r.rewritePrefix ?? defaultRewritePrefix(r.prefix),
  }));
  const problems = routes.flatMap((route, index) => [
    ...checkDuplicates(routes, index),
    ...checkScopeMap(route),
    ...checkAuthConsistency(route),
  ]);
  if (problems.length > 0) throw new RouteTableError(source, problems);
  return routes;
}

/** /api/orders → /orders; a prefix outside /api keeps its path. */
export function defaultRewritePrefix(prefix: string): string {
  return prefix.startsWith('/api/') ? prefix.slice('/api'.length) : prefix;
}

/** The methods the proxy accepts: HEAD comes with GET (Fastify answers HEAD for every GET route). */
export function allowedMethods(route: Pick<Route, 'methods'>): HttpMethod[] {
  const methods = new Set(route.methods);
  if (methods.has('GET')) methods.add('HEAD');
  return HTTP_METHODS.filter((m) => methods.has(m));
}

/** The scopes a request with this method needs. HEAD needs what GET needs. */
export function requiredScopes(route: Pick<Route, 'scopes'>, method: string): string[] {
  if (Array.isArray(route.scopes)) return route.scopes;
  const map = route.scopes as Partial<Record<string, string[]>>;
  return map[method] ?? (method === 'HEAD' ? map.GET : undefined) ?? [];
}

function label(route: { name?: unknown } | undefined, index: number): string {
  return typeof route?.name === 'string' ? `route "${route.name}" (routes[${index}])` : `routes[${index}]`;
}

function describeIssue(value: unknown, issue: z.core.$ZodIssue): string {
  const [top, index, ...rest] = issue.path;
  if (top !== 'routes' || typeof index !== 'number') {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(table)';
    return `${where}: ${issue.message}`;
  }
  const raw = (value as { routes?: unknown[] }).routes?.[index] as { name?: unknown } | undefined;
  // Unknown keys are reported on the object itself; name them as the field.
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const field = [...rest.map(String), ...keys].join('.') || '(route)';
  return `${label(raw, index)} ${field}: ${issue.message}`;
}

function checkDuplicates(routes: Route[], index: number): string[] {
  const route = routes[index]!;
  const problems: string[] = [];
  const earlier = routes.slice(0, index);
  const samePrefix = earlier.find((r) => r.prefix.toLowerCase() === route.prefix.toLowerCase());
  if (samePrefix) {
    problems.push(`${label(route, index)} prefix: ${route.prefix} is already used by route "${samePrefix.name}"`);
  }
  if (earlier.some((r) => r.name === route.name)) {
    problems.push(`${label(route, index)} name: duplicate route name`);
  }
  return problems;
}

/** A scope map must cover exactly the route's methods, so no method is left without its scopes by accident. */
function checkScopeMap(route: Route): string[] {
  if (Array.isArray(route.scopes)) return [];
  const index = `route "${route.name}"`;
  const mapped = Object.keys(route.scopes);
  const problems: string[] = [];
  for (const m of route.methods) {
    if (!mapped.includes(m) && !(m === 'HEAD' && mapped.includes('GET'))) {
      problems.push(`${index} scopes.${m}: the scope map has no entry for this method (use [] for none)`);
    }
  }
  for (const m of mapped) {
    if (!route.methods.includes(m as HttpMethod)) {
      problems.push(`${index} scopes.${m}: not one of the route's methods`);
    }
  }
  return problems;
}

function hasScopes(route: Route): boolean {
  return Array.isArray(route.scopes)
    ? route.scopes.length > 0
    : Object.values(route.scopes).some((s) => s !== undefined && s.length > 0);
}

/** Scopes, roles and exchanges need an authenticated principal: a public route cannot have them. */
function checkAuthConsistency(route: Route): string[] {
  if (!authModes(route).includes('none')) return [];
  const index = `route "${route.name}"`;
  const problems: string[] = [];
  if (hasScopes(route)) problems.push(`${index} scopes: a route with auth "none" cannot require scopes`);
  if (route.roles.length > 0) problems.push(`${index} roles: a route with auth "none" cannot require roles`);
  if (route.exchange) problems.push(`${index} exchange: a route with auth "none" has no subject token`);
  return problems;
}
