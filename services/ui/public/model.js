/**
 * Every read of a server answer's fields happens here, and nowhere else: the services behind the
 * gateway own their JSON shapes, so when one changes, this file is the one to change. Each reader
 * is tolerant (a missing or oddly typed field becomes '' or [], never an exception) because the UI
 * should show what is there rather than nothing at all. Pure functions: no DOM, no fetch.
 */

/** A string to show, from a string or a number; undefined for anything else. */
export function text(value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function first(object, names) {
  if (object === null || typeof object !== 'object') return undefined;
  for (const name of names) {
    const value = text(object[name]);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The array in a list answer: a bare array, or one under a usual member name. */
export function listOf(body, ...names) {
  if (Array.isArray(body)) return body;
  if (body === null || typeof body !== 'object') return [];
  for (const name of [...names, 'items', 'data', 'results']) {
    if (Array.isArray(body[name])) return body[name];
  }
  return [];
}

/** An amount with its currency as one display string ("12.50 EUR"); '' when there is none. */
export function money(amount, currency) {
  if (amount !== null && typeof amount === 'object') return money(amount.amount ?? amount.value, amount.currency ?? currency);
  const value = typeof amount === 'number' ? amount.toFixed(2) : text(amount);
  if (value === undefined) return '';
  const code = text(currency);
  return code === undefined ? value : `${value} ${code}`;
}

/** GET /auth/session → who is signed in. */
export function toSession(body) {
  const roles = Array.isArray(body?.roles) ? body.roles.filter((r) => typeof r === 'string') : [];
  return {
    username: first(body, ['preferred_username', 'sub']) ?? '',
    org: first(body, ['org_id']) ?? '',
    level: first(body, ['subscription_level']) ?? '',
    roles,
    isAdmin: roles.includes('admin'),
  };
}

export function toItem(item) {
  return { sku: first(item, ['sku']) ?? '', quantity: first(item, ['quantity', 'qty']) ?? '' };
}

/** "2 × GH-MUG-001, 1 × GH-KEY-002" */
export function itemsText(items) {
  return items.map((i) => (i.quantity === '' ? i.sku : `${i.quantity} × ${i.sku}`)).join(', ');
}

export function toOrder(order) {
  const items = listOf(order?.items).map(toItem);
  return {
    id: first(order, ['id', 'order_id', 'orderId']) ?? '',
    items,
    itemsText: itemsText(items),
    total: money(order?.total ?? order?.amount, order?.currency),
    status: first(order, ['status', 'state']) ?? '',
    placed: first(order, ['created_at', 'createdAt', 'placed_at', 'time']) ?? '',
  };
}

export function toShipment(shipment) {
  return {
    orderId: first(shipment, ['order_id', 'orderId']) ?? '',
    method: first(shipment, ['method', 'shipping_method']) ?? '',
    status: first(shipment, ['status', 'state']) ?? '',
  };
}

export function toInvoice(invoice) {
  return {
    number: first(invoice, ['number', 'invoice_number', 'id']) ?? '',
    orderId: first(invoice, ['order_id', 'orderId']) ?? '',
    amount: money(invoice?.amount ?? invoice?.total, invoice?.currency),
    status: first(invoice, ['status', 'state']) ?? '',
  };
}

export const toOrders = (body) => listOf(body, 'orders').map(toOrder);
export const toShipments = (body) => listOf(body, 'shipments').map(toShipment);
export const toInvoices = (body) => listOf(body, 'invoices').map(toInvoice);

/** POST /api/admin/replay → how many events were re-published ('' when not said). */
export function replayedCount(body) {
  return first(body, ['replayed', 'count', 'published']) ?? '';
}

/** POST /auth/logout → where to go next: the token service's end-session URL, only if http(s). */
export function endSessionUrl(body, fallback) {
  const url = first(body, ['end_session_url']);
  if (url === undefined) return fallback;
  try {
    const parsed = new URL(url, fallback);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : fallback;
  } catch {
    return fallback;
  }
}

/** An error answer (application/problem+json, RFC 9457) → the sentence to show and its code. */
export function toProblem(body, status) {
  return {
    status,
    code: first(body, ['code']) ?? '',
    message: first(body, ['detail', 'title']) ?? (status === 0 ? 'The gateway could not be reached.' : `The request failed (HTTP ${status}).`),
  };
}
