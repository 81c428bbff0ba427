/**
 * Our event-proof signing key: the private JWK whose public half the token service binds into
 * message tokens (cnf). In development the token service generates the pair under
 * .gatehouse/clients/ and marks the public JWKS next to it `dev: true`; production refuses it.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '@gatehouse/config';
import { createProofSigner, type ProofSigner } from '@gatehouse/events';
import { parseStrictJsonObject } from '@gatehouse/validator';

export interface SigningKey {
  signer: ProofSigner;
  /** The public half (private members removed), with kid: compared with message tokens' cnf.jwk. */
  publicJwk: Record<string, unknown> & { kid: string };
}

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
const SETTING = 'SALES_SIGNING_KEY_FILE';

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`${SETTING}: cannot read ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, [SETTING]);
  }
  try {
    return parseStrictJsonObject(text);
  } catch {
    throw new ConfigError(`${SETTING}: ${path} is not a JSON object`, [SETTING]);
  }
}

/** The token service writes <client>.private.jwk.json beside <client>.jwks.json (dev: true). */
async function markedDevelopment(path: string): Promise<boolean> {
  const name = basename(path).replace(/\.private\.jwk\.json$/, '.jwks.json');
  if (name === basename(path)) return false;
  try {
    const jwks = parseStrictJsonObject(await readFile(join(dirname(path), name), 'utf8'));
    return jwks.dev === true;
  } catch {
    return false;
  }
}

export async function loadSigningKey(path: string, production: boolean): Promise<SigningKey> {
  const jwk = await readJson(path);
  if (production && (jwk.dev === true || (await markedDevelopment(path)))) {
    throw new ConfigError(`${SETTING}: ${path} is a development key; production refuses it`, [SETTING]);
  }
  let signer: ProofSigner;
  try {
    signer = await createProofSigner(jwk);
  } catch (error) {
    throw new ConfigError(`${SETTING}: ${path}: ${(error as Error).message}`, [SETTING]);
  }
  const publicJwk = Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_MEMBERS.has(k)));
  return { signer, publicJwk: { ...publicJwk, kid: signer.kid } };
}
