// Redis-backed API key store, shared by every token-service instance.
//
// Key layout:
//   <prefix>api-key:<id>            hash: the record (scopes as a JSON array, times as epoch ms)
//   <prefix>api-key-hash:<hmac>     string: the id of the key with this HMAC (the exchange lookup)
//   <prefix>api-keys:<org_id>       set: the ids of the org's keys (the admin listing)
// Records are kept after revocation and expiry (listing, audit trail); nothing here expires.
import type { Redis } from 'ioredis';
import { execTransaction } from '../stores/redis.ts';
import type { ApiKeyRecord, ApiKeyStore } from './types.ts';

// Only an existing record is touched: HSET on a missing key would create a partial record.
const TOUCH = `if redis.call('EXISTS', KEYS[1]) == 1 then
  local last = tonumber(redis.call('HGET', KEYS[1], 'last_used_at') or '0')
  if tonumber(ARGV[1]) > last then redis.call('HSET', KEYS[1], 'last_used_at', ARGV[1]) end
end
return 0`;

function toHash(record: ApiKeyRecord): Record<string, string> {
  const fields: Record<string, string> = {
    id: record.id,
    org_id: record.org_id,
    name: record.name,
    scopes: JSON.stringify(record.scopes),
    prefix: record.prefix,
    hash: record.hash,
    created_by: record.created_by,
    created_at: String(record.created_at),
    expires_at: String(record.expires_at),
  };
  if (record.last_used_at !== undefined) fields.last_used_at = String(record.last_used_at);
  if (record.revoked_at !== undefined) fields.revoked_at = String(record.revoked_at);
  return fields;
}

function fromHash(fields: Record<string, string>): ApiKeyRecord | undefined {
  if (!fields.id || !fields.org_id || !fields.hash) return undefined;
  const record: ApiKeyRecord = {
    id: fields.id,
    org_id: fields.org_id,
    name: fields.name ?? '',
    scopes: JSON.parse(fields.scopes ?? '[]') as string[],
    prefix: fields.prefix ?? '',
    hash: fields.hash,
    created_by: fields.created_by ?? '',
    created_at: Number(fields.created_at),
    expires_at: Number(fields.expires_at),
  };
  if (fields.last_used_at !== undefined) record.last_used_at = Number(fields.last_used_at);
  if (fields.revoked_at !== undefined) record.revoked_at = Number(fields.revoked_at);
  return record;
}

/** Uses the stores' client; closing it is theirs. */
export function redisApiKeyStore(redis: Redis, prefix = 'gatehouse:'): ApiKeyStore {
  const recordKey = (id: string) => `${prefix}api-key:${id}`;
  const hashKey = (hash: string) => `${prefix}api-key-hash:${hash}`;
  const orgKey = (orgId: string) => `${prefix}api-keys:${orgId}`;

  const get = async (id: string) => fromHash(await redis.hgetall(recordKey(id)));

  return {
    async create(record) {
      // The HMAC index is written NX: an existing hash (impossible short of a bug) fails the create.
      const [indexed] = await execTransaction(
        redis
          .multi()
          .set(hashKey(record.hash), record.id, 'NX')
          .hset(recordKey(record.id), toHash(record))
          .sadd(orgKey(record.org_id), record.id),
      );
      if (indexed !== 'OK') throw new Error('api key already exists');
    },
    async findByHash(hash) {
      const id = await redis.get(hashKey(hash));
      return id === null ? undefined : get(id);
    },
    async list(orgId) {
      const ids = await redis.smembers(orgKey(orgId));
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(recordKey(id));
      const replies = await execTransaction(pipeline);
      return replies
        .map((fields) => fromHash(fields as Record<string, string>))
        .filter((r): r is ApiKeyRecord => r !== undefined && r.org_id === orgId)
        .sort((a, b) => b.created_at - a.created_at || a.id.localeCompare(b.id));
    },
    async revoke(orgId, id, at) {
      const record = await get(id);
      if (!record || record.org_id !== orgId) return undefined;
      // HSETNX: revoking twice keeps the first time.
      await redis.hsetnx(recordKey(id), 'revoked_at', String(at));
      return get(id);
    },
    async touch(id, at) {
      await redis.eval(TOUCH, 1, recordKey(id), String(at));
    },
  };
}
