// The sales API suite on a real PostgreSQL server.
import { openDatabase } from '@gatehouse/sql';
import { postgresOrSkip } from '@gatehouse/sql/testing';
import t from 'tap';
import { orderFixture, orderSuite } from './support/order-suite.ts';

const server = await postgresOrSkip(t);
if (server) {
  const fx = await orderFixture(t);
  t.test('PostgreSQL', (t) => {
    orderSuite(t, fx, async () => openDatabase({ url: await server.createDatabase() }));
    t.end();
  });
}
