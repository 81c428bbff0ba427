/** JSON schemas of the order routes: strict (no extra members), so a typo is a 400, not ignored. */
import { SKU_PATTERN } from '../catalog.ts';

export const MAX_ITEMS = 50;
export const MAX_QUANTITY = 100;

export const createOrderBody = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_ITEMS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'quantity'],
        properties: {
          sku: { type: 'string', pattern: SKU_PATTERN },
          quantity: { type: 'integer', minimum: 1, maximum: MAX_QUANTITY },
        },
      },
    },
  },
} as const;

export const listOrdersQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // A string: the validator does not coerce types (a body's "5" must not become 5).
    limit: { type: 'string', pattern: '^(100|[1-9][0-9]?)$' },
  },
} as const;

export const replayBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    order_ids: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      uniqueItems: true,
      items: { type: 'string', format: 'uuid' },
    },
  },
} as const;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
