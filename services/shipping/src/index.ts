/** @gatehouse/shipping: the shipping consumer and its read API. */
export { applyShipping, buildShippingService, SHIPMENTS_SCOPE, type ShippingService } from './app.ts';
export { loadShippingConfig, type ShippingConfig } from './config.ts';
export { startShippingService } from './main.ts';
export { itemsCount, type ShippingMethod, shippingMethod } from './policy.ts';
export { findShipment, insertShipment, listShipments, type NewShipment, type Shipment } from './repository.ts';
export { SHIPPING_MIGRATIONS } from './migrations.ts';
