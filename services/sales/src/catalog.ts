/**
 * The service's own price list. A client sends SKUs and quantities only: every price, line total
 * and order total is computed here, so no request can choose what it pays.
 * Amounts are integers in minor units (cents) of CURRENCY: no floating point near money.
 */

export const CURRENCY = 'EUR';

export interface CatalogEntry {
  sku: string;
  name: string;
  /** Minor units. */
  unitPrice: number;
}

export const CATALOG: ReadonlyMap<string, CatalogEntry> = new Map(
  (
    [
      { sku: 'GH-BOOK-001', name: 'Identity on the Wire (book)', unitPrice: 3900 },
      { sku: 'GH-MUG-001', name: 'Gatehouse mug', unitPrice: 1250 },
      { sku: 'GH-KEY-002', name: 'Hardware security key', unitPrice: 4999 },
      { sku: 'GH-TEE-003', name: 'Gatehouse T-shirt', unitPrice: 2000 },
      { sku: 'GH-STK-010', name: 'Sticker pack', unitPrice: 300 },
    ] satisfies CatalogEntry[]
  ).map((entry) => [entry.sku, Object.freeze(entry)]),
);

/** What the request schema admits as a SKU (the catalog decides whether it exists). */
export const SKU_PATTERN = '^[A-Z0-9][A-Z0-9-]{2,31}$';

export interface RequestedItem {
  sku: string;
  quantity: number;
}

export interface PricedItem {
  sku: string;
  name: string;
  quantity: number;
  unit_price: number;
  line_total: number;
}

export interface PricedOrder {
  items: PricedItem[];
  total: number;
  currency: string;
}

export class UnknownSkuError extends Error {
  readonly code = 'ERR_UNKNOWN_SKU';
  readonly skus: string[];
  readonly pointers: string[];
  constructor(skus: string[], pointers: string[]) {
    super(`unknown SKU: ${skus.join(', ')}`);
    this.name = 'UnknownSkuError';
    this.skus = skus;
    this.pointers = pointers;
  }
}

/** Pure: prices the requested items from the catalog, or names every SKU it does not sell. */
export function priceOrder(items: readonly RequestedItem[], catalog = CATALOG): PricedOrder {
  const unknown = items.flatMap((item, index) => (catalog.has(item.sku) ? [] : [{ sku: item.sku, index }]));
  if (unknown.length > 0) {
    throw new UnknownSkuError(
      [...new Set(unknown.map((u) => u.sku))],
      unknown.map((u) => `/items/${u.index}/sku`),
    );
  }
  const priced = items.map((item) => {
    const entry = catalog.get(item.sku)!;
    return {
      sku: entry.sku,
      name: entry.name,
      quantity: item.quantity,
      unit_price: entry.unitPrice,
      line_total: entry.unitPrice * item.quantity,
    };
  });
  return { items: priced, total: priced.reduce((sum, item) => sum + item.line_total, 0), currency: CURRENCY };
}
