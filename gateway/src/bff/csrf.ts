/**
 * CSRF defence for state-changing requests made with the session cookie. SameSite=Strict already
 * keeps the cookie off cross-site requests; this is the second, independent layer (older browsers,
 * same-site but cross-origin attackers such as a sibling subdomain):
 * - a custom header, which a cross-origin page cannot add without a CORS preflight that our
 *   allow-list refuses, and which an HTML form cannot send at all;
 * - an Origin (or, failing that, Referer) in the allow-list.
 * Both are required.
 */
import type { FastifyRequest } from 'fastify';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CsrfRefusal {
  status: 403;
  code: 'ERR_CSRF';
  reason: 'custom_header_missing' | 'origin_missing' | 'origin_not_allowed';
  detail: string;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

function hasCustomHeader(request: FastifyRequest): boolean {
  const requestedWith = single(request.headers['x-requested-with']);
  const csrf = single(request.headers['x-csrf']);
  return requestedWith?.toLowerCase() === 'gatehouse' || csrf === '1';
}

/** The request's origin from Origin, else Referer; undefined when neither names one. */
function requestOrigin(request: FastifyRequest): string | undefined {
  const origin = single(request.headers.origin);
  // "null" (sandboxed frames, some redirects) is not an origin we can allow.
  if (origin !== undefined) return origin === 'null' ? undefined : origin;
  const referer = single(request.headers.referer);
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

/** undefined when the request may proceed; the refusal otherwise. Safe methods always pass. */
export function checkCsrf(request: FastifyRequest, allowedOrigins: readonly string[]): CsrfRefusal | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined;
  if (!hasCustomHeader(request)) {
    return {
      status: 403,
      code: 'ERR_CSRF',
      reason: 'custom_header_missing',
      detail: 'State-changing requests must carry the X-Requested-With: gatehouse header.',
    };
  }
  const origin = requestOrigin(request);
  if (origin === undefined) {
    return { status: 403, code: 'ERR_CSRF', reason: 'origin_missing', detail: 'The request origin is required.' };
  }
  if (!allowedOrigins.includes(origin)) {
    return { status: 403, code: 'ERR_CSRF', reason: 'origin_not_allowed', detail: 'The request origin is not allowed.' };
  }
  return undefined;
}
