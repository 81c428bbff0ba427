import t from 'tap';
import { invoiceNumber } from '../src/numbering.ts';

t.test('invoice numbers are zero-padded per-organisation sequence numbers', async (t) => {
  t.equal(invoiceNumber(1), 'INV-000001');
  t.equal(invoiceNumber(42), 'INV-000042');
  t.equal(invoiceNumber(1_234_567), 'INV-1234567');
  for (const bad of [0, -1, 1.5, Number.NaN]) t.throws(() => invoiceNumber(bad), RangeError, String(bad));
});
