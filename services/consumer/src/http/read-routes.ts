/**
 * The two read routes every consumer serves over its own records, with one shape:
 *   GET /<collection>?order_id=&limit=   the caller's visible records, newest first
 *   GET /<collection>/:id                one of them, or 404 (another org's record is "not found")
 * Scope checked by the bearer hook, rows filtered by the caller's Visibility in SQL.
 */
import type { Visibility } from '../visibility.ts';
import { notFound } from '@gatehouse/service-http';
import { type ReadApi, visibilityOrRefuse } from './server.ts';

export interface ReadRoutesOptions<T> {
  /** 'shipments': the path and the list member. */
  collection: string;
  /** 'shipment': for the 404's wording. */
  resource: string;
  scope: string;
  list(visibility: Visibility, options: { orderId?: string; limit: number }): Promise<T[]>;
  find(visibility: Visibility, id: string): Promise<T | undefined>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const MAX_PAGE = 100;

export function registerReadRoutes<T>(api: ReadApi, options: ReadRoutesOptions<T>): void {
  const onRequest = api.requireScopes([options.scope]);
  api.app.get<{ Querystring: { order_id?: string; limit: number } }>(
    `/${options.collection}`,
    {
      onRequest,
      schema: {
        querystring: {
          type: 'object',
          properties: {
            order_id: { type: 'string', minLength: 1, maxLength: 128 },
            limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 50 },
          },
        },
      },
    },
    async (request, reply) => {
      const visibility = visibilityOrRefuse(request, reply);
      if (visibility === undefined) return reply;
      const { order_id: orderId, limit } = request.query;
      const items = await options.list(visibility, { ...(orderId === undefined ? {} : { orderId }), limit });
      return { [options.collection]: items };
    },
  );
  api.app.get<{ Params: { id: string } }>(`/${options.collection}/:id`, { onRequest }, async (request, reply) => {
    const visibility = visibilityOrRefuse(request, reply);
    if (visibility === undefined) return reply;
    // Not a UUID: no such record (and never a database cast error).
    const item = UUID.test(request.params.id) ? await options.find(visibility, request.params.id) : undefined;
    return item ?? notFound(reply, options.resource);
  });
}
