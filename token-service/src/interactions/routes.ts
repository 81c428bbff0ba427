/**
 * Login and consent interactions (oidc-provider's devInteractions are off). Fastify routes that
 * read the pending interaction from the provider, check CSRF and lockout, verify the password,
 * and hand the result back with interactionFinished.
 */
import formbody from '@fastify/formbody';
import { type AuditLog, hashSubject } from '@gatehouse/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type Provider from 'oidc-provider';
import type { AccountStore } from '../accounts.ts';
import { FIRST_PARTY_CLIENTS } from '../clients.ts';
import type { TokenServiceMetrics } from '../metrics.ts';
import { type LockoutPolicy, lockedScope, lockoutKeys } from '../policy/lockout.ts';
import type { AttemptCounter } from '../stores/types.ts';
import { csrfToken, csrfValid, originAllowed } from './csrf.ts';
import { consentPage, loginPage, messagePage } from './views.ts';

export interface InteractionDeps {
  /** The current provider: it is rebuilt when the signing keys change. */
  provider: () => Provider;
  accounts: AccountStore;
  attempts: AttemptCounter;
  lockout: LockoutPolicy;
  audit: AuditLog;
  metrics: TokenServiceMetrics;
  issuer: string;
  csrfKey: string;
  loginRateLimit: preHandlerHookHandler;
}

/** One message for every failure, so the form reveals nothing about which usernames exist. */
const GENERIC_FAILURE = 'Invalid username or password.';
const LOCKED = 'Too many failed attempts. Try again later.';

type Params = { uid: string };
type Form = Record<string, string | undefined>;

export async function interactionRoutes(app: FastifyInstance, deps: InteractionDeps): Promise<void> {
  await app.register(formbody);
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    );
    reply.header('x-frame-options', 'DENY');
  });

  app.get<{ Params: Params }>('/interaction/:uid', async (request, reply) => {
    const details = await interaction(deps.provider(), request, reply);
    if (!details) return;
    const client = await deps.provider().Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? String(details.params.client_id);
    const csrf = csrfToken(deps.csrfKey, details.uid);
    if (details.prompt.name === 'login') {
      return reply.type('text/html').send(loginPage({ uid: details.uid, csrf, clientName }));
    }
    if (details.prompt.name === 'consent') {
      if (client && FIRST_PARTY_CLIENTS.has(client.clientId)) {
        return finish(reply, request, deps.provider(), {
          consent: { grantId: await grantConsent(deps.provider(), details) },
        });
      }
      return reply
        .type('text/html')
        .send(consentPage({ uid: details.uid, csrf, clientName, scopes: requested(details) }));
    }
    return reply.code(400).type('text/html').send(messagePage('Cannot continue', 'Unsupported interaction.'));
  });

  app.post<{ Params: Params; Body: Form }>(
    '/interaction/:uid/login',
    { preHandler: deps.loginRateLimit },
    async (request, reply) => {
      const details = await interaction(deps.provider(), request, reply);
      if (!details || !formAllowed(deps, request, reply, details.uid)) return;
      if (details.prompt.name !== 'login') {
        return reply.code(400).type('text/html').send(messagePage('Cannot continue', 'Unexpected step.'));
      }
      const username = String(request.body?.username ?? '').slice(0, 256);
      const password = String(request.body?.password ?? '').slice(0, 1024);
      const view = {
        uid: details.uid,
        csrf: csrfToken(deps.csrfKey, details.uid),
        clientName: String(details.params.client_id),
        username,
      };
      const keys = lockoutKeys(username, request.ip);
      const locked = lockedScope(deps.lockout, {
        account: await deps.attempts.count(keys.account),
        ip: await deps.attempts.count(keys.ip),
      });
      if (locked) {
        deps.metrics.lockouts.inc({ scope: locked });
        deps.metrics.logins.inc({ outcome: 'locked' });
        deps.audit.record({
          event: 'login.locked',
          outcome: 'denied',
          reason: `${locked}_locked_out`,
          user: hashSubject(username),
          ip: request.ip,
        });
        return reply
          .code(429)
          .type('text/html')
          .send(loginPage({ ...view, error: LOCKED }));
      }

      const account = username && password ? await deps.accounts.authenticate(username, password) : undefined;
      if (!account) {
        const [accountFailures, ipFailures] = await Promise.all([
          deps.attempts.hit(keys.account, deps.lockout.windowSeconds),
          deps.attempts.hit(keys.ip, deps.lockout.windowSeconds),
        ]);
        deps.metrics.logins.inc({ outcome: 'failure' });
        deps.audit.record({
          event: 'login.failure',
          outcome: 'failure',
          reason: 'bad_credentials',
          user: hashSubject(username),
          ip: request.ip,
          client_id: view.clientName,
        });
        const nowLocked = lockedScope(deps.lockout, { account: accountFailures, ip: ipFailures });
        if (nowLocked) {
          deps.metrics.lockouts.inc({ scope: nowLocked });
          deps.audit.record({
            event: 'login.lockout',
            outcome: 'denied',
            reason: `${nowLocked}_locked_out`,
            user: hashSubject(username),
            ip: request.ip,
            seconds: deps.lockout.windowSeconds,
          });
        }
        return reply
          .code(401)
          .type('text/html')
          .send(loginPage({ ...view, error: GENERIC_FAILURE }));
      }

      await deps.attempts.clear(keys.account);
      deps.metrics.logins.inc({ outcome: 'success' });
      deps.audit.record({
        event: 'login.success',
        outcome: 'success',
        sub: hashSubject(account.id),
        ip: request.ip,
        client_id: view.clientName,
      });
      return finish(reply, request, deps.provider(), { login: { accountId: account.id } });
    },
  );

  app.post<{ Params: Params; Body: Form }>('/interaction/:uid/confirm', async (request, reply) => {
    const details = await interaction(deps.provider(), request, reply);
    if (!details || !formAllowed(deps, request, reply, details.uid)) return;
    if (details.prompt.name !== 'consent') {
      return reply.code(400).type('text/html').send(messagePage('Cannot continue', 'Unexpected step.'));
    }
    return finish(reply, request, deps.provider(), {
      consent: { grantId: await grantConsent(deps.provider(), details) },
    });
  });

  app.get<{ Params: Params }>('/interaction/:uid/abort', async (request, reply) => {
    const details = await interaction(deps.provider(), request, reply);
    if (!details) return;
    return finish(reply, request, deps.provider(), {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    });
  });
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The pending interaction, or a friendly page when it expired or the cookie is missing. */
async function interaction(
  provider: Provider,
  request: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
) {
  try {
    const details = await provider.interactionDetails(request.raw, reply.raw);
    if (details.uid !== request.params.uid) throw new Error('uid mismatch');
    return details;
  } catch {
    reply
      .code(400)
      .type('text/html')
      .send(
        messagePage(
          'Sign-in expired',
          'This sign-in request has expired. Go back to the application and start again.',
        ),
      );
    return undefined;
  }
}

function formAllowed(
  deps: InteractionDeps,
  request: FastifyRequest<{ Body: Form }>,
  reply: FastifyReply,
  uid: string,
) {
  if (
    originAllowed(request.headers.origin, deps.issuer) &&
    csrfValid(deps.csrfKey, uid, request.body?.csrf)
  ) {
    return true;
  }
  deps.audit.record({ event: 'login.csrf_refused', outcome: 'denied', reason: 'csrf', ip: request.ip });
  reply
    .code(403)
    .type('text/html')
    .send(messagePage('Request refused', 'The form could not be verified. Reload the page and try again.'));
  return false;
}

function requested(details: Details): string[] {
  const d = details.prompt.details as {
    missingOIDCScope?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  return [...(d.missingOIDCScope ?? []), ...Object.values(d.missingResourceScopes ?? {}).flat()];
}

/** Grants what the client asked for (consent given, or implied for a first-party client). */
async function grantConsent(provider: Provider, details: Details): Promise<string> {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session!.accountId, clientId: String(params.client_id) });
  if (!grant) throw new Error('grant not found');
  const d = prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function finish(
  reply: FastifyReply,
  request: FastifyRequest,
  provider: Provider,
  result: Parameters<Provider['interactionFinished']>[2],
) {
  reply.hijack();
  await provider.interactionFinished(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
}
