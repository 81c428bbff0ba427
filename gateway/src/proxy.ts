/**
 * One @fastify/http-proxy registration per route-table entry.
 *
 * For a route { prefix: '/api/orders', rewritePrefix: '/orders', upstream: 'http://sales:4100' }:
 *   GET /api/orders/123?x=1  →  GET http://sales:4100/orders/123?x=1
 *
 * Per route, in this order: authenticate (onRequest) → authorize (onRequest) → body read with the
 * body limit → proxy → the answer's body, small ones buffered (upstream-body.ts). Methods the
 * route does not declare get 405 with Allow, before any auth.
 * The request headers sent upstream are rebuilt here (upstreamHeaders): identity headers a client
 * sends are dropped, and only what the gateway itself established is added back.
 */
import { Readable } from 'node:stream';
import httpProxy from '@fastify/http-proxy';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { type AuthenticateDeps, authenticateHook } from './authenticate.ts';
import { authorizeCheck } from './authorize.ts';
import { clientIp } from './client-ip.ts';
import { sendProblem } from './problem.ts';
import { allowedMethods, HTTP_METHODS, type Route } from './routes.ts';
import { sendUpstreamBody, type UpstreamAnswer } from './upstream-body.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route-table entry this request was matched to (absent on ops and 404 routes). */
    route?: Route;
  }
  interface FastifyRequest {
    /** Headers the gateway adds upstream; set them with setUpstreamHeader (x-gatehouse-* only). */
    upstreamHeaders?: Record<string, string>;
  }
}

/** Every header a later gateway piece sets for upstreams carries this prefix; clients' are dropped. */
export const GATEWAY_HEADER_PREFIX = 'x-gatehouse-';

/**
 * Request headers never forwarded as the client sent them. Identity is carried upstream only by
 * the validated token (and x-gatehouse-* headers the gateway sets), so anything that looks like
 * identity is dropped rather than trusted; forwarding headers are rebuilt from what the gateway saw.
 */
export const STRIPPED_HEADERS: ReadonlySet<string> = new Set([
  'authorization', // re-set from the validated token, or dropped on auth 'none'
  'proxy-authorization',
  'cookie', // the gateway's session cookie is the gateway's business, never a service's
  'x-api-key', // exchanged for a JWT by the API-key auth mode; services only ever see JWTs
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-org-id',
  'x-roles',
  'x-scopes',
  'x-scope',
  'x-client-id',
  'x-message-token',
  'x-remote-user',
  'remote-user',
  'x-subject',
  'x-sub',
  'x-tenant-id',
  'x-subscription-level',
  // rebuilt below from what the gateway observed
  'x-request-id',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
]);
export const STRIPPED_HEADER_PREFIXES: readonly string[] = [
  GATEWAY_HEADER_PREFIX,
  'x-user',
  'x-principal',
  'x-auth',
  'x-identity',
];

export function isStrippedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (STRIPPED_HEADERS.has(lower)) return true;
  // A loop, not some(): this runs for every header of every proxied request.
  for (const prefix of STRIPPED_HEADER_PREFIXES) if (lower.startsWith(prefix)) return true;
  return false;
}

/** For later gateway pieces (message-token minting...): a header to send upstream with this request. */
export function setUpstreamHeader(request: FastifyRequest, name: string, value: string): void {
  const lower = name.toLowerCase();
  if (!lower.startsWith(GATEWAY_HEADER_PREFIX)) {
    throw new TypeError(`gateway-set upstream headers must start with ${GATEWAY_HEADER_PREFIX}`);
  }
  request.upstreamHeaders = { ...request.upstreamHeaders, [lower]: value };
}

/** The headers the upstream receives: the client's minus stripped ones, plus the gateway's own. */
export function upstreamHeaders(request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  // Own keys only (never inherited ones), without Object.entries' pair per header.
  for (const name of Object.keys(headers)) {
    if (!isStrippedHeader(name)) out[name] = headers[name];
  }
  out['x-request-id'] = request.id;
  out['x-forwarded-for'] = clientIp(request);
  out['x-forwarded-proto'] = request.protocol;
  if (request.accessToken !== undefined) out.authorization = `Bearer ${request.accessToken}`;
  const length = bodyLengths.get(request);
  if (length !== undefined) out['content-length'] = String(length);
  Object.assign(out, request.upstreamHeaders);
  return out;
}

/** Response headers that only describe the upstream's software. */
const HIDDEN_RESPONSE_HEADERS = ['server', 'x-powered-by'];

function downstreamHeaders(headers: Record<string, unknown>, route: Pick<Route, 'prefix' | 'rewritePrefix'>): Record<string, unknown> {
  // A copy without the hidden ones, rather than a spread and deletes (which turn the copy into a
  // slow dictionary-mode object that Fastify then walks header by header).
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(headers)) {
    if (!HIDDEN_RESPONSE_HEADERS.includes(name)) out[name] = headers[name];
  }
  if (typeof out.location === 'string') out.location = publicLocation(out.location, route);
  return out;
}

/**
 * An upstream's Location names its own path (201 /orders/42); the client knows only the gateway's
 * (/api/orders/42). A path under the route's rewritePrefix is mapped back to its prefix; anything
 * else (absolute URLs, other paths) is passed through unchanged.
 */
export function publicLocation(location: string, route: Pick<Route, 'prefix' | 'rewritePrefix'>): string {
  if (!location.startsWith('/') || location.startsWith('//')) return location;
  const from = route.rewritePrefix.replace(/\/$/, '');
  const to = route.prefix.replace(/\/$/, '');
  if (!location.startsWith(from)) return location;
  const rest = location.slice(from.length);
  // '/ordersx' is not under '/orders'.
  if (from !== '' && rest !== '' && !/^[/?#]/.test(rest)) return location;
  return `${to}${rest}`;
}

const bodyLengths = new WeakMap<FastifyRequest, number>();

/**
 * The whole body is read (up to the limit) before anything is sent upstream, so the limit holds
 * for chunked bodies too and an upstream never receives half a request. It is handed to the proxy
 * as a stream of the same bytes: no re-encoding.
 */
function bufferedBodies(scope: FastifyInstance, bodyLimit: number): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    const bytes = body as Buffer;
    bodyLengths.set(request, bytes.length);
    done(null, bytes.length === 0 ? undefined : Readable.from([bytes], { objectMode: false }));
  });
}

/** Upstream failures as problems: the address, port and library message stay in the log. */
function upstreamFailed(reply: FastifyReply, error: Error, timedOut: boolean): void {
  reply.request.log.warn({ err: error, upstreamStatus: timedOut ? 504 : 502 }, 'upstream request failed');
  if (reply.sent) return;
  sendProblem(
    reply,
    timedOut ? 504 : 502,
    timedOut
      ? { slug: 'upstream-timeout', code: 'ERR_UPSTREAM_TIMEOUT', detail: 'The upstream service did not answer in time.' }
      : { slug: 'upstream-unavailable', code: 'ERR_UPSTREAM_UNAVAILABLE', detail: 'The upstream service is unavailable.' },
  );
}

export interface ProxyDeps extends AuthenticateDeps {
  bodyLimit: number;
  upstreamTimeoutMs: number;
  /** The route's rate-limit hook, after authentication (limits key on the principal). */
  rateLimit?: (route: Route) => preHandlerAsyncHookHandler | undefined;
  /**
   * The route's message-token hook (exchange/mint.ts), after the rate limit: a limited request never
   * costs an exchange. It sets the message-token header with setUpstreamHeader, or answers 403/503.
   */
  messageToken?: (route: Route) => preHandlerAsyncHookHandler | undefined;
}

export async function registerRouteProxy(app: FastifyInstance, route: Route, deps: ProxyDeps): Promise<void> {
  await app.register(async (scope) => {
    // One hook, one promise: authorisation right after authentication, as two hooks in a row did.
    const authenticate = authenticateHook(route, deps);
    const authorize = authorizeCheck(route, deps);
    scope.addHook('onRequest', async (request, reply) => (await authenticate(request, reply)) ?? authorize(request, reply));
    const limit = deps.rateLimit?.(route);
    if (limit) scope.addHook('preHandler', limit);
    const mint = deps.messageToken?.(route);
    if (mint) scope.addHook('preHandler', mint);
    bufferedBodies(scope, deps.bodyLimit);
    await scope.register(httpProxy, {
      upstream: route.upstream,
      prefix: route.prefix,
      rewritePrefix: route.rewritePrefix,
      httpMethods: allowedMethods(route),
      // Our parser above reads and limits the body; the plugin's own would stream it unbounded.
      proxyPayloads: false,
      // reply-from's two info lines per request ("fetching from remote server", "response
      // received") repeat our one request line at twice its cost (redaction runs on each).
      disableRequestLogging: true,
      config: { route },
      undici: {
        connect: { timeout: deps.upstreamTimeoutMs },
        headersTimeout: deps.upstreamTimeoutMs,
        bodyTimeout: deps.upstreamTimeoutMs,
      },
      replyOptions: {
        // The plugin types these over every server kind; ours is plain HTTP/1.1.
        rewriteRequestHeaders: (request, headers) =>
          upstreamHeaders(request as FastifyRequest, headers as IncomingHttpHeaders),
        rewriteHeaders: (headers) => downstreamHeaders(headers, route) as IncomingHttpHeaders,
        onError: (reply, { error }) =>
          upstreamFailed(reply as FastifyReply, error, (error as FastifyError).statusCode === 504),
        // reply-from's types call the third argument a raw response; it is { statusCode, headers, stream }.
        onResponse: (_request, reply, answer) =>
          sendUpstreamBody(reply as FastifyReply, answer as unknown as UpstreamAnswer, (error) =>
            upstreamFailed(reply as FastifyReply, error, (error as { code?: unknown }).code === 'UND_ERR_BODY_TIMEOUT'),
          ),
      },
    });
  });
  await registerMethodNotAllowed(app, route);
}

/** Methods the route does not declare: 405 with Allow. No auth needed to learn what a path allows. */
async function registerMethodNotAllowed(app: FastifyInstance, route: Route): Promise<void> {
  const allowed = allowedMethods(route);
  const refused = HTTP_METHODS.filter((m) => !allowed.includes(m));
  if (refused.length === 0) return;
  const allow = allowed.join(', ');
  await app.register(
    async (scope) => {
      for (const url of ['/', '/*']) {
        scope.route({
          method: refused,
          url,
          config: { route },
          handler: async (_request, reply) =>
            sendProblem(
              reply,
              405,
              { slug: 'method-not-allowed', code: 'ERR_METHOD_NOT_ALLOWED', detail: `Allowed methods: ${allow}.` },
              { allow },
            ),
        });
      }
    },
    { prefix: route.prefix },
  );
}
