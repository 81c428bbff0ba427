/**
 * The OAuth clients Gatehouse registers, and the producer keys that message tokens are bound to.
 *
 * Producing clients (sales) hold a private key of their own: it signs event proofs and, when
 * configured, private_key_jwt client assertions. The token service only ever reads the public
 * half, from <CLIENT_KEYS_DIR>/<client>.jwks.json. In development a missing key pair is generated
 * (the private half in <client>.private.jwk.json, 0600, for the dev services to use); production
 * requires the file and refuses one marked as a development key.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { ClientMetadata } from 'oidc-provider';
import { z } from 'zod';
import type { TokenServiceConfig } from './config.ts';
import { TOKEN_EXCHANGE_GRANT } from './tokens/token-types.ts';

export const PRODUCER_CLIENTS = ['sales'] as const;

/** Scopes of the Gatehouse API (the resource server) and the OIDC scopes. */
export const API_SCOPES = ['orders:read', 'orders:write', 'shipments:read', 'invoices:read', 'events:replay'];
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile'];

/** Clients whose users are ours: consent is implied and never asked. */
export const FIRST_PARTY_CLIENTS = new Set(['gateway']);

export type PublicJwks = { keys: Array<Record<string, unknown>> };

export function clientMetadata(
  config: TokenServiceConfig,
  producerJwks: Map<string, PublicJwks>,
): ClientMetadata[] {
  const salesJwks = producerJwks.get('sales');
  return [
    {
      client_id: 'gateway',
      client_secret: config.GATEWAY_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT],
      response_types: ['code'],
      redirect_uris: config.GATEWAY_REDIRECT_URIS,
      post_logout_redirect_uris: config.GATEWAY_POST_LOGOUT_REDIRECT_URIS,
      scope: [...OIDC_SCOPES, 'orders:read', 'orders:write', 'shipments:read', 'invoices:read'].join(' '),
    },
    {
      client_id: 'sales',
      client_secret: config.SALES_CLIENT_SECRET,
      token_endpoint_auth_method: config.SALES_TOKEN_ENDPOINT_AUTH_METHOD,
      grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT],
      response_types: [],
      redirect_uris: [],
      scope: 'events:replay orders:read',
      ...(salesJwks ? { jwks: salesJwks as ClientMetadata['jwks'] } : {}),
    },
    serviceClient('shipping', config.SHIPPING_CLIENT_SECRET),
    serviceClient('invoicing', config.INVOICING_CLIENT_SECRET),
  ];
}

function serviceClient(clientId: string, secret: string): ClientMetadata {
  return {
    client_id: clientId,
    client_secret: secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'orders:read',
  };
}

const publicJwksSchema = z.object({
  dev: z.boolean().optional(),
  keys: z
    .array(z.looseObject({ kty: z.string(), kid: z.string().optional() }))
    .min(1)
    .refine((keys) => keys.every((k) => !('d' in k)), 'must hold public keys only (no "d")'),
});

export async function loadProducerJwks(dir: string, production: boolean): Promise<Map<string, PublicJwks>> {
  const result = new Map<string, PublicJwks>();
  for (const clientId of PRODUCER_CLIENTS) {
    const path = join(dir, `${clientId}.jwks.json`);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === undefined) {
      if (production)
        throw new Error(`CLIENT_KEYS_DIR: ${path} is missing (the ${clientId} client's public JWKS)`);
      result.set(clientId, await generateDevProducerKey(dir, clientId));
      continue;
    }
    const parsed = publicJwksSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`CLIENT_KEYS_DIR: ${path}: ${parsed.error.issues[0]?.message}`);
    if (production && parsed.data.dev) {
      throw new Error(`CLIENT_KEYS_DIR: ${path} is a development key; production refuses it`);
    }
    result.set(clientId, { keys: parsed.data.keys });
  }
  return result;
}

async function generateDevProducerKey(dir: string, clientId: string): Promise<PublicJwks> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const publicJwk = { ...pub, kid, alg: 'ES256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomically(join(dir, `${clientId}.private.jwk.json`), JSON.stringify(privateJwk, null, 2));
  await writeAtomically(
    join(dir, `${clientId}.jwks.json`),
    JSON.stringify({ dev: true, keys: [publicJwk] }, null, 2),
  );
  return { keys: [publicJwk] };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${text}\n`, { mode: 0o600 });
  await rename(temp, path);
}

/** The key a message token's cnf names: the producer's first signing key. */
export function producerConfirmationKey(jwks: PublicJwks | undefined): Record<string, unknown> | undefined {
  const key = jwks?.keys.find((k) => k.use === undefined || k.use === 'sig');
  if (!key) return undefined;
  const { kty, crv, x, y, n, e, kid, alg } = key;
  return Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e, kid, alg }).filter(([, v]) => v !== undefined),
  );
}
