/**
 * The Gatehouse UI. The gateway is its backend-for-frontend: signing in is a navigation to
 * /auth/login, the session lives in an HttpOnly cookie, and this page only ever sees the claims
 * /auth/session chooses to show (never a token).
 */
/* global window -- a browser global (the repository's ESLint config is Node's) */
import * as api from './api.js';
import { endSessionUrl, replayedCount, toInvoices, toOrder, toOrders, toSession, toShipments } from './model.js';
import {
  byId,
  fillTable,
  localTime,
  methodBadge,
  readOrderLines,
  renderOrderLines,
  resetOrderLines,
  setText,
  show,
  showError,
} from './view.js';

const SESSION_ENDED = 'Your session has ended. Sign in again.';

function status(message) {
  setText('status', message);
}

function signedOut(message) {
  show('signed-in', false);
  show('signed-out', true);
  status(message);
}

/** An error for the whole page; a lost session sends the user back to "Sign in". */
function fail(error) {
  if (error?.status === 401) {
    showError('error', '');
    signedOut(SESSION_ENDED);
    return;
  }
  showError('error', error instanceof Error ? error.message : String(error));
}

/** Runs an action with its button disabled, so a double click never sends it twice. */
async function busy(buttonId, action) {
  const button = byId(buttonId);
  button.disabled = true;
  showError('error', '');
  try {
    await action();
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
}

/** One list: its table when the call worked, its own error line when it did not. */
function renderList(name, result, read, cells, emptyText) {
  if (result.status === 'rejected') {
    showError(`${name}-error`, result.reason instanceof Error ? result.reason.message : String(result.reason));
    return;
  }
  showError(`${name}-error`, '');
  fillTable(name, read(result.value).map(cells), emptyText);
}

/** Orders, shipments and invoices side by side: one service being down does not blank the others. */
async function refresh() {
  const [orders, shipments, invoices] = await Promise.allSettled([
    api.listOrders(),
    api.listShipments(),
    api.listInvoices(),
  ]);
  const ended = [orders, shipments, invoices].some((r) => r.status === 'rejected' && r.reason?.status === 401);
  if (ended) return signedOut(SESSION_ENDED);
  renderList('orders', orders, toOrders, (o) => [o.id, o.itemsText, o.total, o.status, localTime(o.placed)], 'No orders yet.');
  renderList('shipments', shipments, toShipments, (s) => [s.orderId, methodBadge(s.method), s.status], 'No shipments yet.');
  renderList('invoices', invoices, toInvoices, (i) => [i.number, i.orderId, i.amount, i.status], 'No invoices yet.');
  return undefined;
}

async function signedIn(who) {
  setText('who-username', who.username);
  setText('who-org', who.org);
  setText('who-level', who.level);
  setText('who-roles', who.roles.length > 0 ? who.roles.join(', ') : 'none');
  show('admin', who.isAdmin);
  show('signed-out', false);
  show('signed-in', true);
  status(`Signed in as ${who.username}.`);
  await refresh();
}

async function placeOrder(event) {
  event.preventDefault();
  const items = readOrderLines();
  if (typeof items === 'string') {
    showError('error', items);
    return;
  }
  await busy('place-order', async () => {
    const order = toOrder(await api.placeOrder(items));
    resetOrderLines();
    status(`Order ${order.id} placed${order.total === '' ? '' : ` (total ${order.total})`}.`);
    await refresh();
  });
}

async function replay() {
  await busy('replay', async () => {
    const count = replayedCount(await api.replayAll());
    status(count === '' ? 'Replay started.' : `Replayed ${count} ${count === '1' ? 'event' : 'events'}.`);
  });
}

async function signOut() {
  await busy('sign-out', async () => {
    const home = `${window.location.origin}/`;
    // The gateway has dropped its session; the token service's own session ends there.
    window.location.assign(endSessionUrl(await api.signOut(), home));
  });
}

async function start() {
  renderOrderLines();
  byId('order-form').addEventListener('submit', placeOrder);
  byId('refresh').addEventListener('click', () => busy('refresh', refresh));
  byId('replay').addEventListener('click', replay);
  byId('sign-out').addEventListener('click', signOut);
  try {
    const session = await api.currentSession();
    if (session === undefined) signedOut('Signed out.');
    else await signedIn(toSession(session));
  } catch (error) {
    status('');
    fail(error);
  }
}

start();
