/**
 * /orders: place an order (orders:write + the message token), list and read orders (orders:read).
 * Identity comes from the verified access token only; prices from the catalog only.
 */
import { randomUUID } from 'node:crypto';
import { sealEvent } from '@gatehouse/events';
import { hashSubject } from '@gatehouse/observability';
import type { Principal } from '@gatehouse/validator';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { priceOrder, type RequestedItem, UnknownSkuError } from '../catalog.ts';
import type { SalesContext } from '../context.ts';
import { RETRY_AFTER_SECONDS } from '@gatehouse/service-http';
import { authenticate, authorize } from '../http/authenticate.ts';
import { isDatabaseUnavailable } from '../http/database.ts';
import { sendProblem } from '@gatehouse/service-http';
import { type Order, orderCreatedEvent } from '../orders/order.ts';
import { findOrder, listOrders, type OrderScope, placeOrder } from '../orders/repository.ts';
import { createOrderBody, listOrdersQuery, UUID } from '../orders/schema.ts';
import { requireMessageToken } from './message-token.ts';

const DEFAULT_LIST_LIMIT = 50;

/** Admins see their organisation's orders; everyone else their own. No organisation, no orders. */
function scopeOf(principal: Principal): OrderScope | undefined {
  if (principal.orgId === undefined) return undefined;
  return principal.roles.includes('admin') ? { orgId: principal.orgId } : { orgId: principal.orgId, customer: principal.sub };
}

function noOrganisation(reply: FastifyReply): FastifyReply {
  return sendProblem(reply, 403, {
    slug: 'organisation-required',
    code: 'ERR_ORG_REQUIRED',
    detail: 'Orders belong to an organisation; this token names none.',
  });
}

export function databaseUnavailable(reply: FastifyReply): FastifyReply {
  return sendProblem(
    reply,
    503,
    { slug: 'dependency-unavailable', code: 'ERR_DATABASE_UNAVAILABLE', detail: 'Orders cannot be stored right now. Retry later.' },
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}

export async function orderRoutes(app: FastifyInstance, ctx: SalesContext): Promise<void> {
  const onRequest = authenticate(ctx.auth);

  app.post<{ Body: { items: RequestedItem[] } }>(
    '/orders',
    {
      schema: { body: createOrderBody },
      onRequest,
      // Before validation: a caller without the scope learns nothing about the body's rules.
      preValidation: authorize({ scopes: ['orders:write'] }, ctx.auth),
      preHandler: requireMessageToken(ctx),
    },
    async (request, reply) => {
      const access = request.principal!;
      const message = request.messageToken!;
      let priced;
      try {
        priced = priceOrder(request.body.items);
      } catch (error) {
        if (!(error instanceof UnknownSkuError)) throw error;
        ctx.metrics.orderRefused(error.code);
        return sendProblem(reply, 422, {
          slug: 'unknown-sku',
          code: error.code,
          detail: `Not in the catalog: ${error.skus.join(', ')}.`,
          extensions: { errors: error.pointers.map((pointer) => ({ pointer, detail: 'is not in the catalog', in: 'body' })) },
        });
      }
      const order: Order = {
        id: randomUUID(),
        org_id: access.orgId!,
        customer: access.sub,
        ...priced,
        created_at: new Date().toISOString(),
      };
      const event = orderCreatedEvent(order, randomUUID(), message.principal.subscriptionLevel ?? access.subscriptionLevel);
      const record = await sealEvent(ctx.signingKey.signer, { ...event, messageToken: message.token });
      try {
        await placeOrder(ctx.db, order, {
          orderId: order.id,
          topic: ctx.config.EVENTS_TOPIC,
          record,
          attributes: event.attributes,
          messageToken: message.token,
        });
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        request.log.warn({ err: error }, 'database unavailable');
        return databaseUnavailable(reply);
      }
      ctx.relay.notify();
      ctx.metrics.orderCreated();
      ctx.audit.record({
        event: 'order.created',
        outcome: 'success',
        order_id: order.id,
        event_id: event.attributes.id,
        org_id: order.org_id,
        sub: hashSubject(access.sub),
        total: order.total,
        currency: order.currency,
        jti: access.jti,
        message_token_jti: message.principal.jti,
        txn: message.principal.claims.txn,
        request_id: request.id,
      });
      return reply.code(201).header('location', `/orders/${order.id}`).send(order);
    },
  );

  app.get<{ Querystring: { limit?: string } }>(
    '/orders',
    { schema: { querystring: listOrdersQuery }, onRequest, preValidation: authorize({ scopes: ['orders:read'] }, ctx.auth) },
    async (request, reply) => {
      const scope = scopeOf(request.principal!);
      if (!scope) return noOrganisation(reply);
      const limit = request.query.limit === undefined ? DEFAULT_LIST_LIMIT : Number(request.query.limit);
      return { orders: await listOrders(ctx.db, scope, limit) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/orders/:id',
    { onRequest, preValidation: authorize({ scopes: ['orders:read'] }, ctx.auth) },
    async (request, reply) => {
      const scope = scopeOf(request.principal!);
      if (!scope) return noOrganisation(reply);
      // Not found, malformed, another organisation's or another user's: one answer, nothing learned.
      const order = UUID.test(request.params.id) ? await findOrder(ctx.db, request.params.id.toLowerCase(), scope) : undefined;
      if (!order) return sendProblem(reply, 404, { slug: 'not-found', code: 'ERR_ORDER_NOT_FOUND', detail: 'No such order.' });
      return order;
    },
  );
}
