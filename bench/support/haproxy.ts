/**
 * Contender "HAProxy" (Debian's package): a config file with the same checks as the gateway's
 * bearer route, done with HAProxy's own JWT converters (HAProxy >= 2.5): ES256 signature with
 * jwt_verify against the token service's public key as PEM, typ, issuer, audience, expiry, and the
 * scope orders:read; then the /api/orders -> /orders rewrite and the proxy to the upstream.
 */
import { execFile } from 'node:child_process';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `haproxy -v`'s first line and whether its build has the JWT converters, or why it cannot run. */
export async function haproxyVersion(binary = 'haproxy'): Promise<{ version: string } | { missing: string }> {
  try {
    const { stdout } = await run(binary, ['-vv'], { timeout: 10_000 });
    const version = /HAProxy version (\S+)/.exec(stdout)?.[1];
    if (!version) return { missing: 'haproxy -vv printed no version' };
    const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
    if (major < 2 || (major === 2 && minor < 5)) return { missing: `haproxy ${version} has no jwt_verify (needs >= 2.5)` };
    if (!/USE_OPENSSL=1|\+OPENSSL/.test(stdout)) return { missing: `haproxy ${version} is built without OpenSSL (no jwt_verify)` };
    return { version };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { missing: code === 'ENOENT' ? 'haproxy not installed (apt-get install haproxy)' : `haproxy -vv failed: ${String(error)}` };
  }
}

/** The ES256 key of a JWKS as an SPKI PEM, for jwt_verify. */
export function es256Pem(jwks: { keys?: unknown[] }): string {
  const jwk = (jwks.keys ?? []).find(
    (key): key is JsonWebKey =>
      typeof key === 'object' && key !== null && (key as JsonWebKey).kty === 'EC' && (key as JsonWebKey).crv === 'P-256',
  );
  if (!jwk) throw new Error('the JWKS has no P-256 (ES256) key');
  const { kty, crv, x, y } = jwk;
  return createPublicKey({ key: { kty, crv, x, y }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
}

const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

/** Writes the key and config into dir; returns the config path. */
export async function writeHaproxyConfig(
  dir: string,
  options: { port: number; upstreamPort: number; pem: string; issuer: string; audience: string; threads: number },
): Promise<string> {
  const keyPath = join(dir, 'token-service.pem');
  await writeFile(keyPath, options.pem);
  const config = `global
  nbthread ${options.threads}
  maxconn 4096
  tune.bufsize 16384

defaults
  mode http
  option http-keep-alive
  timeout connect 10s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 60s

frontend bench
  bind 127.0.0.1:${options.port}
  http-request deny deny_status 401 unless { req.hdr_cnt(authorization) -m int 1 }
  http-request set-var(txn.bearer) http_auth_bearer
  http-request deny deny_status 401 unless { var(txn.bearer) -m found }
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request set-var(txn.typ) var(txn.bearer),jwt_header_query('$.typ')
  http-request set-var(txn.iss) var(txn.bearer),jwt_payload_query('$.iss')
  http-request set-var(txn.aud) var(txn.bearer),jwt_payload_query('$.aud')
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
  http-request set-var(txn.scope) var(txn.bearer),jwt_payload_query('$.scope')
  http-request set-var(txn.now) date()
  http-request deny deny_status 401 unless { var(txn.alg) -m str ES256 }
  http-request deny deny_status 401 unless { var(txn.typ) -m str at+jwt }
  http-request deny deny_status 401 unless { var(txn.iss) -m str ${quote(options.issuer)} }
  http-request deny deny_status 401 unless { var(txn.aud) -m str ${quote(options.audience)} }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify("ES256",${quote(keyPath)}) -m int 1 }
  http-request deny deny_status 401 if { var(txn.exp),sub(txn.now) -m int lt 0 }
  http-request deny deny_status 403 unless { var(txn.scope) -m reg (^|\\ )orders:read(\\ |$) }
  http-request replace-path ^/api/orders(.*) /orders\\1
  default_backend upstream

backend upstream
  server upstream 127.0.0.1:${options.upstreamPort}
`;
  const path = join(dir, 'haproxy.cfg');
  await writeFile(path, config);
  return path;
}
