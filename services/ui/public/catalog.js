/**
 * What the order form offers. Only SKUs and names: the sales service prices every order itself, so
 * nothing the browser sends can set a price. test/ui-catalog.test.ts keeps these SKUs in step with
 * the sales service's catalogue (services/sales/src/catalog.ts).
 */
export const CATALOG = Object.freeze([
  Object.freeze({ sku: 'GH-BOOK-001', name: 'Identity on the Wire (book)' }),
  Object.freeze({ sku: 'GH-MUG-001', name: 'Gatehouse mug' }),
  Object.freeze({ sku: 'GH-KEY-002', name: 'Hardware security key' }),
  Object.freeze({ sku: 'GH-TEE-003', name: 'Gatehouse T-shirt' }),
  Object.freeze({ sku: 'GH-STK-010', name: 'Sticker pack' }),
]);

/** The most of one SKU a single order may ask for (the server has its own limit). */
export const MAX_QUANTITY = 99;
