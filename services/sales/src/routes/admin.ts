/**
 * POST /admin/replay (role admin): re-publishes stored events of the admin's organisation under a
 * fresh replay grant. Order: select the events (refuse a too-large replay before asking anyone),
 * obtain the grant (token service down: 503, nothing published), then sign and send.
 */
import { hashSubject } from '@gatehouse/observability';
import type { FastifyInstance } from 'fastify';
import type { SalesContext } from '../context.ts';
import { RETRY_AFTER_SECONDS } from '@gatehouse/service-http';
import { authenticate, authorize } from '../http/authenticate.ts';
import { sendProblem } from '@gatehouse/service-http';
import { replayBody } from '../orders/schema.ts';
import { eventsForReplay } from '../outbox/store.ts';
import { GrantError, type ReplayGrant } from '../replay/grant-client.ts';
import { ReplayIncompleteError, replayEvents } from '../replay/replay.ts';

interface ReplayRequest {
  from?: string;
  to?: string;
  order_ids?: string[];
}

export async function adminRoutes(app: FastifyInstance, ctx: SalesContext): Promise<void> {
  app.post<{ Body: ReplayRequest | undefined }>(
    '/admin/replay',
    {
      schema: { body: replayBody },
      onRequest: authenticate(ctx.auth),
      preValidation: authorize({ roles: ['admin'] }, ctx.auth),
    },
    async (request, reply) => {
      const admin = request.principal!;
      const body = request.body ?? {};
      if (body.from !== undefined && body.to !== undefined && Date.parse(body.from) > Date.parse(body.to)) {
        return sendProblem(reply, 400, {
          slug: 'validation',
          code: 'ERR_VALIDATION',
          detail: 'body/to must not be before body/from',
          extensions: { errors: [{ pointer: '/to', detail: 'must not be before from', in: 'body' }] },
        });
      }
      if (admin.orgId === undefined) {
        return sendProblem(reply, 403, { slug: 'organisation-required', code: 'ERR_ORG_REQUIRED', detail: 'This token names no organisation.' });
      }
      const max = ctx.config.REPLAY_MAX_EVENTS;
      const events = await eventsForReplay(
        ctx.db,
        {
          orgId: admin.orgId,
          ...(body.from === undefined ? {} : { from: body.from }),
          ...(body.to === undefined ? {} : { to: body.to }),
          ...(body.order_ids === undefined ? {} : { orderIds: body.order_ids.map((id) => id.toLowerCase()) }),
        },
        max,
      );
      if (events.length > max) {
        return sendProblem(reply, 422, {
          slug: 'replay-too-large',
          code: 'ERR_REPLAY_TOO_LARGE',
          detail: `More than ${max} events match; narrow the range.`,
        });
      }

      const base = {
        sub: hashSubject(admin.sub),
        org_id: admin.orgId,
        from: body.from,
        to: body.to,
        order_ids: body.order_ids?.length,
        request_id: request.id,
      };
      let grant: ReplayGrant;
      try {
        grant = await ctx.grants.replayGrant({
          ...(body.from === undefined ? {} : { from: body.from }),
          ...(body.to === undefined ? {} : { to: body.to }),
        });
      } catch (error) {
        if (!(error instanceof GrantError)) throw error;
        ctx.audit.record({ event: 'replay.refused', outcome: 'failure', reason: error.reason, ...base });
        request.log.warn({ err: error }, 'replay grant not obtained');
        return sendProblem(
          reply,
          error.kind === 'unavailable' ? 503 : 502,
          {
            slug: 'replay-grant',
            code: error.code,
            detail:
              error.kind === 'unavailable'
                ? 'The token service cannot issue a replay grant right now. Retry later.'
                : 'The token service refused the replay grant.',
          },
          error.kind === 'unavailable' ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {},
        );
      }

      ctx.audit.record({ event: 'replay.started', outcome: 'info', replay_id: grant.replayId, events: events.length, ...base });
      let replayed: number;
      try {
        replayed = await replayEvents(events, ctx.signingKey.signer, grant.token, await ctx.producer());
      } catch (error) {
        const sent = error instanceof ReplayIncompleteError ? error.sent : 0;
        ctx.metrics.replayed(sent);
        ctx.audit.record({ event: 'replay.failed', outcome: 'failure', replay_id: grant.replayId, replayed: sent, ...base });
        request.log.warn({ err: error }, 'replay incomplete');
        // Records already sent are harmless to send again (consumers dedupe on ce_id): retry it all.
        return sendProblem(
          reply,
          503,
          {
            slug: 'event-bus-unavailable',
            code: 'ERR_BUS_UNAVAILABLE',
            detail: 'The event bus did not accept every record. Retry the replay later.',
            extensions: { replayed: sent, replay_id: grant.replayId },
          },
          { 'retry-after': String(RETRY_AFTER_SECONDS) },
        );
      }
      ctx.metrics.replayed(replayed);
      ctx.audit.record({ event: 'replay.completed', outcome: 'success', replay_id: grant.replayId, replayed, ...base });
      return { replayed, replay_id: grant.replayId };
    },
  );
}
