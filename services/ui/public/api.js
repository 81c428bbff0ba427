/**
 * The UI's only way to the server: same-origin fetches to the gateway, which holds the session in
 * an HttpOnly cookie (the page never sees a token). Every call carries X-Requested-With: gatehouse,
 * the gateway's CSRF header, so a state-changing call can never be sent without it.
 */
import { toProblem } from './model.js';

const CSRF_HEADER = { 'X-Requested-With': 'gatehouse' };

/** A refused or failed call: `status` 0 when the gateway could not be reached at all. */
export class ApiError extends Error {
  constructor(problem) {
    super(problem.message);
    this.name = 'ApiError';
    this.status = problem.status;
    this.code = problem.code;
  }
}

async function readJson(response) {
  const type = response.headers.get('content-type') ?? '';
  if (!/^application\/(?:problem\+)?json\b/.test(type)) return undefined;
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/** One call: resolves with the JSON body, rejects with an ApiError carrying the problem's detail. */
export async function call(method, path, body) {
  const headers = { ...CSRF_HEADER, Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      // API answers never redirect; one that does is not followed blindly.
      redirect: 'error',
    });
  } catch {
    throw new ApiError(toProblem(undefined, 0));
  }
  const data = await readJson(response);
  if (!response.ok) throw new ApiError(toProblem(data, response.status));
  return data;
}

/** The signed-in user's claims, or undefined when nobody is signed in (401). */
export async function currentSession() {
  try {
    return await call('GET', '/auth/session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined;
    throw error;
  }
}

export const signOut = () => call('POST', '/auth/logout');
export const listOrders = () => call('GET', '/api/orders');
export const placeOrder = (items) => call('POST', '/api/orders', { items });
export const listShipments = () => call('GET', '/api/shipments');
export const listInvoices = () => call('GET', '/api/invoices');
export const replayAll = () => call('POST', '/api/admin/replay', {});
