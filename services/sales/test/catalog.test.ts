import t from 'tap';
import { CATALOG, priceOrder, UnknownSkuError } from '../src/catalog.ts';

t.test('prices come from the catalog, in integer minor units', async (t) => {
  const order = priceOrder([
    { sku: 'GH-MUG-001', quantity: 3 },
    { sku: 'GH-STK-010', quantity: 1 },
  ]);
  t.equal(order.currency, 'EUR');
  t.same(order.items, [
    { sku: 'GH-MUG-001', name: 'Gatehouse mug', quantity: 3, unit_price: 1250, line_total: 3750 },
    { sku: 'GH-STK-010', name: 'Sticker pack', quantity: 1, unit_price: 300, line_total: 300 },
  ]);
  t.equal(order.total, 4050);
  for (const entry of CATALOG.values()) t.ok(Number.isInteger(entry.unitPrice) && entry.unitPrice > 0, entry.sku);
});

t.test('an unknown SKU is named, with its pointer', async (t) => {
  const error = (() => {
    try {
      priceOrder([
        { sku: 'GH-MUG-001', quantity: 1 },
        { sku: 'NOPE-1', quantity: 1 },
        { sku: 'NOPE-1', quantity: 2 },
      ]);
    } catch (e) {
      return e;
    }
  })();
  t.ok(error instanceof UnknownSkuError);
  t.match(error, { code: 'ERR_UNKNOWN_SKU', skus: ['NOPE-1'], pointers: ['/items/1/sku', '/items/2/sku'] });
});
