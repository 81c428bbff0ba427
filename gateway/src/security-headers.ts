/**
 * helmet's security headers on every response, computed once per configuration rather than once
 * per request.
 *
 * Why not @fastify/helmet: it calls helmet(options) inside its onRequest hook, i.e. it builds a new
 * helmet middleware (parsing and validating every CSP directive) for every request, and adds a
 * second async hook for its reply decorators. For a static configuration the headers are the same
 * every time, so here helmet itself runs once per configuration, against a recording response, and
 * each request only copies the recorded headers. What is set stays helmet's decision.
 *
 * Same configuration surface as @fastify/helmet for what the gateway uses: global options, and per
 * route `config.helmet` (options merged over the global ones, as ui.ts does) or `{ skipRoute: true }`
 * (also the route option `helmet: false`). A configuration whose CSP directives are functions
 * (computed per request) runs helmet's middleware per request instead. CSP nonces
 * (enableCSPNonces) and the reply.helmet() decorator are not provided.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

declare module 'fastify' {
  interface FastifyReply {
    /** Sets this route's security headers again (they are set once, at onRequest). */
    applySecurityHeaders?(): void;
  }
}

/** helmet's options (as @fastify/helmet takes them, less `global` and `enableCSPNonces`). */
export type SecurityHeadersOptions = HelmetOptions;

/** A route's `config.helmet` (typed loosely: HelmetOptions is a union helmet checks itself). */
type RouteHelmet = { skipRoute?: boolean; enableCSPNonces?: boolean; [option: string]: unknown } | undefined;

/** What a configuration does to a response: fixed headers, or helmet per request. */
type Plan =
  | { kind: 'static'; names: string[]; values: string[] }
  | { kind: 'dynamic'; middleware: ReturnType<typeof helmet> }
  | { kind: 'none' };

const noop = () => {};

/** The headers helmet sets for these options, recorded on a stand-in response. */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value);
    },
    // helmet removes X-Powered-By; nothing has set it yet when a request starts.
    removeHeader() {},
  } as unknown as ServerResponse;
  helmet(options)({} as never, recorder, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

function hasDynamicDirectives(options: HelmetOptions): boolean {
  const csp = options.contentSecurityPolicy;
  if (typeof csp !== 'object' || csp === null || csp.directives === undefined) return false;
  return Object.values(csp.directives).some((value) =>
    Array.isArray(value) ? value.some((entry) => typeof entry === 'function') : typeof value === 'function',
  );
}

function planFor(options: RouteHelmet & object): Plan {
  const { skipRoute, enableCSPNonces, ...rest } = options;
  const helmetOptions = rest as HelmetOptions;
  if (skipRoute === true) return { kind: 'none' };
  if (enableCSPNonces) throw new TypeError('CSP nonces (enableCSPNonces) are not supported by the gateway');
  if (hasDynamicDirectives(helmetOptions)) return { kind: 'dynamic', middleware: helmet(helmetOptions) };
  const headers = helmetHeaders(helmetOptions);
  return { kind: 'static', names: Object.keys(headers), values: Object.values(headers) };
}

async function securityHeadersPlugin(app: FastifyInstance, options: SecurityHeadersOptions): Promise<void> {
  const global = planFor(options as RouteHelmet & object);
  // Per route configuration object (a route table shares one object between its routes).
  const perRoute = new WeakMap<object, Plan>();
  const planOf = (routeHelmet: RouteHelmet): Plan => {
    if (routeHelmet === undefined) return global;
    let plan = perRoute.get(routeHelmet);
    if (plan === undefined) {
      plan = planFor({ ...options, ...routeHelmet });
      perRoute.set(routeHelmet, plan);
    }
    return plan;
  };

  // @fastify/helmet's route option `helmet: false | {...}`, kept for parity.
  app.addHook('onRoute', (route) => {
    const option = (route as { helmet?: unknown }).helmet;
    if (option === undefined) return;
    if (option !== false && (typeof option !== 'object' || option === null)) {
      throw new Error('Unknown value for route helmet configuration');
    }
    const helmetConfig = option === false ? { skipRoute: true } : option;
    route.config = { ...route.config, helmet: helmetConfig } as typeof route.config;
  });

  const apply = (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config as { helmet?: RouteHelmet } | undefined;
    const plan = planOf(config?.helmet);
    if (plan.kind === 'static') {
      const { names, values } = plan;
      for (let i = 0; i < names.length; i += 1) reply.header(names[i]!, values[i]);
    } else if (plan.kind === 'dynamic') {
      plan.middleware(request.raw, reply.raw, noop);
    }
  };
  // For a reply whose headers were replaced after the hook ran (a failed upstream answer).
  app.decorateReply('applySecurityHeaders', function (this: FastifyReply) {
    apply(this.request, this);
  });
  // A callback hook, not an async one: no promise per request.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    apply(request, reply);
    done();
  });
}

/** Registered at the root (not encapsulated) so every route and the 404 handler get the headers. */
export const securityHeaders = fp(securityHeadersPlugin, { name: 'gatehouse-security-headers', fastify: '5.x' });
