/**
 * Operators rotate signing keys with the gatehouse-keys CLI while tokens are issued and verified
 * continuously: no request fails, old tokens verify until their key is pruned, and a token signed
 * by an emergency-revoked key stops verifying.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createValidator, remoteKeys, type TokenProfile, type Validator } from '@gatehouse/validator';
import t from 'tap';
import { client, decodeJwt, exchange, loginWithCode, oauthClient } from './support/oauth.ts';
import { startTokenService } from './support/token-service.ts';

const ACCESS: TokenProfile = { kind: 'access', typ: 'at+jwt', audience: 'urn:gatehouse:api' };
const MESSAGE: TokenProfile = {
  kind: 'message',
  typ: 'message+jwt',
  audience: 'urn:gatehouse:consumer:shipping',
};
const cli = join(import.meta.dirname, '../../keys/src/cli.ts');

const { issuer, dir, audit } = await startTokenService(t);
const store = join(dir, 'keys', 'keystore.json');
const gateway = await oauthClient(issuer, 'gateway');
let refreshToken = (await loginWithCode(issuer, 'alice')).tokens.refresh_token!;

function keys(...args: string[]) {
  const result = spawnSync(
    process.execPath,
    [
      cli,
      ...args,
      '--store',
      store,
      '--audit',
      join(dir, 'keys-audit.jsonl'),
      '--jwks-max-age',
      '1s',
      '--max-token-lifetime',
      '2s',
      '--replay-window',
      '1s',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (result.status !== 0) throw new Error(`keys ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}
const statusJson = () =>
  JSON.parse(keys('status', '--json')) as { keys: Array<{ kid: string; state: string }> };
const activeKid = () => statusJson().keys.find((k) => k.state === 'active')!.kid;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}
const published = async (kid: string) =>
  ((await (await fetch(`${issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.some(
    (k) => k.kid === kid,
  );

/** A validator in another process's shoes: JWKS over HTTP, cached briefly. */
const remoteValidator = (): Validator =>
  createValidator({ issuer, keys: remoteKeys(`${issuer}/jwks`, { maxAgeMs: 300, cooldownMs: 100 }) });

async function issuePair() {
  const refreshed = await client.refreshTokenGrant(gateway, refreshToken);
  refreshToken = refreshed.refresh_token!;
  const message = await exchange(gateway, {
    subject_token: refreshed.access_token,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    audience: 'urn:gatehouse:consumer:shipping',
    producer: 'sales',
  });
  return { access: refreshed.access_token, message: message.access_token };
}

/** Issues and verifies continuously until stopped; bounded in count and time. */
function traffic(validator: Validator) {
  const stats = { ok: 0, failures: [] as string[], kids: new Set<string>() };
  let running = true;
  const done = (async () => {
    const deadline = Date.now() + 60_000;
    for (let i = 0; running && i < 5000 && Date.now() < deadline; i += 1) {
      try {
        const pair = await issuePair();
        await validator.verify(pair.access, ACCESS);
        await validator.verify(pair.message, MESSAGE);
        stats.kids.add(String(decodeJwt(pair.access).header.kid));
        stats.ok += 1;
      } catch (error) {
        const e = error as { error?: string; error_description?: string; message?: string };
        stats.failures.push(`${e.error ?? ''} ${e.error_description ?? e.message}`);
      }
      await sleep(20);
    }
  })();
  return {
    stats,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

t.test('scheduled rotation: generate, activate, retire, prune with zero failures', async (t) => {
  const validator = remoteValidator();
  const k1 = activeKid();
  const before = await issuePair();
  const load = traffic(validator);
  // One refresh-token chain: never left running beside the next test, whatever fails here.
  t.teardown(() => load.stop());

  const k2 = keys('generate').match(/[A-Za-z0-9_-]{43}/)![0];
  await until('the new key to be published', () => published(k2));
  t.not(activeKid(), k2, 'a new key is not signing yet');
  await sleep(1100); // the validators' JWKS max age (--jwks-max-age 1s)
  keys('activate', k2);
  await until('tokens signed by the new key', async () => load.stats.kids.has(k2));
  t.ok(await published(k1), 'the previous key stays published as retiring');
  await validator.verify(before.access, ACCESS);
  await validator.verify(before.message, MESSAGE);
  t.pass('tokens signed before the rotation still verify after it');

  const k3 = keys('generate').match(/[A-Za-z0-9_-]{43}/)![0];
  await until('k3 published', () => published(k3));
  keys('retire', k3);
  const firstPrune = keys('prune');
  t.match(firstPrune, new RegExp(`removed ${k3}`), 'a key that never signed goes at once');
  t.match(firstPrune, new RegExp(`kept ${k1}`), 'the retiring key is kept until its retention ends');
  await validator.verify(before.message, MESSAGE);

  // Retention: max token lifetime 6 s + replay window 4 s after the activation.
  const retireAfter = Date.parse(
    (statusJson().keys as Array<{ kid: string; retireAfter?: string }>).find((k) => k.kid === k1)!.retireAfter!,
  );
  await sleep(Math.max(0, retireAfter - Date.now()) + 100);
  t.match(keys('prune'), new RegExp(`removed ${k1}`));
  await until('k1 gone from JWKS', async () => !(await published(k1)));
  await sleep(400); // the validator's JWKS max age
  await load.stop();

  t.same(load.stats.failures, [], 'no request failed during the rotation');
  t.ok(load.stats.ok > 20, `tokens issued and verified throughout (${load.stats.ok})`);
  t.ok(load.stats.kids.has(k1) && load.stats.kids.has(k2), 'both keys signed during the run');
  const fresh = remoteValidator();
  await t.rejects(
    fresh.verify(before.access, ACCESS),
    { code: 'ERR_TOKEN_KEY_UNKNOWN' },
    'after prune: refused',
  );
  await t.rejects(
    validator.verify(before.message, MESSAGE),
    { code: 'ERR_TOKEN_KEY_UNKNOWN' },
    'even when cached',
  );
  t.ok(
    audit.some((r) => r.event === 'keys.reloaded' && r.active_kid === k2),
    'the reload is audited',
  );
  const metrics = await (await fetch(`${issuer}/metrics`)).text();
  t.match(
    metrics,
    /gatehouse_key_reloads_total\{outcome="changed",trigger="watch",component="token-service"\} [1-9]/,
  );
});

t.test('emergency rotation: tokens of a revoked key stop verifying', async (t) => {
  const validator = remoteValidator();
  const compromised = activeKid();
  const signed = await issuePair();
  await validator.verify(signed.message, MESSAGE);

  const replacement = keys('generate').match(/[A-Za-z0-9_-]{43}/)![0];
  keys('activate', replacement, '--force');
  const output = keys('emergency-revoke', compromised);
  t.match(output, /stops verifying/i, 'the consequences are printed');
  await until('the revoked key to leave JWKS', async () => !(await published(compromised)));
  await sleep(400);
  await t.rejects(validator.verify(signed.message, MESSAGE), { code: 'ERR_TOKEN_KEY_UNKNOWN' });
  await t.rejects(validator.verify(signed.access, ACCESS), { code: 'ERR_TOKEN_KEY_UNKNOWN' });
  const introspected = await client.tokenIntrospection(gateway, signed.access);
  t.equal(introspected.active, false, 'the token service no longer accepts it either');
  const next = await issuePair();
  t.equal(decodeJwt(next.access).header.kid, replacement, 'new tokens use the replacement');
  await validator.verify(next.message, MESSAGE);
});

t.test('a corrupt store is refused on reload; the service keeps its keys and keeps working', async (t) => {
  const kid = activeKid();
  const { readFile } = await import('node:fs/promises');
  const good = await readFile(store, 'utf8');
  await writeFile(store, '{"version": 1, "keys": [');
  await until('the refusal', async () => audit.some((r) => r.event === 'keys.reload_refused'));
  const pair = await issuePair();
  t.equal(decodeJwt(pair.access).header.kid, kid, 'still signing with the last good key');
  t.equal(await readFile(store, 'utf8'), '{"version": 1, "keys": [', 'the corrupt file is never overwritten');
  await writeFile(store, good);
});
