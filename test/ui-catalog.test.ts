// The browser UI offers only what the sales service sells: its order form lists SKUs (never prices),
// and an SKU the catalogue lacks would be refused by the service.
import { CATALOG as SALES_CATALOG } from '@gatehouse/sales';
import t from 'tap';

// The UI is plain browser JavaScript without declarations: imported by a path typed here.
const UI_MODULE = '../services/ui/public/catalog.js';
const { CATALOG: UI_CATALOG, MAX_QUANTITY } = (await import(UI_MODULE)) as {
  CATALOG: ReadonlyArray<{ sku: string; name: string }>;
  MAX_QUANTITY: number;
};

t.test('every SKU the UI offers is in the sales catalogue', async (t) => {
  t.ok(UI_CATALOG.length > 0);
  for (const item of UI_CATALOG) t.ok(SALES_CATALOG.has(item.sku), item.sku);
  t.ok(MAX_QUANTITY <= 100, 'no more than the service accepts per line');
});
