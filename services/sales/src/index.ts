/** @gatehouse/sales: the sales API, its outbox relay and admin replay. */
export { buildSalesService, type SalesDeps, type SalesService } from './app.ts';
export { CATALOG, CURRENCY, priceOrder, UnknownSkuError } from './catalog.ts';
export { CONSUMER_AUDIENCES, DEV_SALES_CLIENT_SECRET, loadSalesConfig, type SalesConfig } from './config.ts';
export { MIGRATIONS } from './migrations.ts';
export { EVENT_SOURCE, type Order } from './orders/order.ts';
export { startSalesService } from './start.ts';
