/**
 * DOM helpers. Data only ever reaches the page as text (textContent, Node.append with strings):
 * nothing here parses HTML, and the page's CSP (require-trusted-types-for 'script') makes any
 * innerHTML assignment throw, so a stray one fails loudly instead of becoming an XSS.
 */
/* global document -- a browser global (the repository's ESLint config is Node's) */
import { CATALOG, MAX_QUANTITY } from './catalog.js';

export function byId(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`the page has no #${id}`);
  return node;
}

/** An element with attributes and children; string children become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function setText(id, value) {
  byId(id).textContent = value;
}

export function show(id, visible) {
  byId(id).hidden = !visible;
}

/** An error line: shown with its message, hidden when the message is empty. */
export function showError(id, message) {
  const node = byId(id);
  node.textContent = message;
  node.hidden = message === '';
}

/** Replaces a table's body with one row per entry (cells: strings or nodes), or one "empty" row. */
export function fillTable(id, rows, emptyText) {
  const table = byId(id);
  const columns = table.tHead?.rows[0]?.cells.length ?? 1;
  const body = table.tBodies[0];
  const trs =
    rows.length > 0
      ? rows.map((cells) => el('tr', {}, ...cells.map((cell) => el('td', {}, cell))))
      : [el('tr', {}, el('td', { colspan: String(columns), class: 'empty' }, emptyText))];
  body.replaceChildren(...trs);
}

/** The shipping method as a badge; the class comes from a fixed list, never from the data. */
export function methodBadge(method) {
  const known = method === 'express' || method === 'standard';
  return el('span', { class: known ? `badge ${method}` : 'badge' }, method);
}

/** An RFC 3339 time in the reader's locale; anything unreadable is shown as it came. */
export function localTime(value) {
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toLocaleString();
}

/** One labelled quantity input per catalogue entry. */
export function renderOrderLines() {
  const lines = CATALOG.map(({ sku, name }) => {
    const id = `qty-${sku}`;
    return el(
      'p',
      { class: 'line' },
      el('label', { for: id }, `${name} (${sku})`),
      el('input', {
        id,
        name: sku,
        type: 'number',
        min: '0',
        max: String(MAX_QUANTITY),
        step: '1',
        value: '0',
        inputmode: 'numeric',
      }),
    );
  });
  byId('order-lines').replaceChildren(...lines);
}

/** The order's items from the form, or the sentence explaining why there are none. */
export function readOrderLines() {
  const items = [];
  for (const { sku, name } of CATALOG) {
    const raw = byId(`qty-${sku}`).value.trim();
    const quantity = raw === '' ? 0 : Number(raw);
    if (!Number.isInteger(quantity) || quantity < 0 || quantity > MAX_QUANTITY) {
      return `The quantity of ${name} must be a whole number from 0 to ${MAX_QUANTITY}.`;
    }
    if (quantity > 0) items.push({ sku, quantity });
  }
  return items.length > 0 ? items : 'Choose a quantity for at least one item.';
}

export function resetOrderLines() {
  for (const { sku } of CATALOG) byId(`qty-${sku}`).value = '0';
}
