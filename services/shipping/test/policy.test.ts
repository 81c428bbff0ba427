import t from 'tap';
import { itemsCount, shippingMethod } from '../src/policy.ts';

t.test('express is offered to premium subscribers only', async (t) => {
  t.equal(shippingMethod({ subscriptionLevel: 'premium' }), 'express');
  for (const level of ['basic', 'gold', 'Premium', '', undefined]) {
    t.equal(shippingMethod({ subscriptionLevel: level }), 'standard', `level ${String(level)}`);
  }
});

t.test('items count is the number of pieces, not of lines', async (t) => {
  t.equal(itemsCount([{ quantity: 2 }, { quantity: 1 }]), 3);
  t.equal(itemsCount([{ quantity: 5 }]), 5);
});
