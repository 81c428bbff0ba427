// node-oidc-provider storage adapter on Redis.
//
// Key layout (prefix default 'gatehouse:oidc:'):
//   <prefix><Model>:<id>          hash { payload: JSON, consumed?: epoch seconds }, EX = expiresIn.
//                                 A hash so consume() is a single atomic HSET, not read-modify-write.
//   <prefix>grant:<grantId>       set of the token keys above issued under the grant (grantable models
//                                 only); expires with its longest-lived member.
//   <prefix>userCode:<userCode>   id of the DeviceCode, same TTL as the record
//   <prefix>uid:<uid>             id of the Session, same TTL as the record
// Index keys may outlive a re-upserted record; lookups check the record still carries the looked-up
// value, so a stale index never returns the wrong record.
import type { ChainableCommander, Redis } from 'ioredis';
import { execTransaction } from '../stores/redis.ts';

export interface AdapterPayload {
  [key: string]: unknown;
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
}

// Same list as oidc-provider's own memory adapter: the models whose records carry a grantId that
// revokeByGrantId must reach. (Interaction also has a grantId, but revoking a grant must not touch it.)
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

// Only mark consumed when the record still exists: HSET on a missing key would create a record
// without payload or TTL.
const CONSUME = `if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HSET', KEYS[1], 'consumed', ARGV[1])
end
return 0`;

// Delete an index key only if it still points at this record.
const DELETE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export class RedisAdapter {
  readonly name: string;
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(name: string, redis: Redis, prefix = 'gatehouse:oidc:') {
    this.name = name;
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(id: string): string {
    return `${this.#prefix}${this.name}:${id}`;
  }

  #grantKey(grantId: string): string {
    return `${this.#prefix}grant:${grantId}`;
  }

  #userCodeKey(userCode: string): string {
    return `${this.#prefix}userCode:${userCode}`;
  }

  #uidKey(uid: string): string {
    return `${this.#prefix}uid:${uid}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const key = this.#key(id);
    // EX must be a positive integer; the provider checks exp itself, the TTL only collects garbage.
    const ttl = typeof expiresIn === 'number' ? Math.max(1, Math.ceil(expiresIn)) : undefined;
    const multi = this.#redis.multi().del(key).hset(key, 'payload', JSON.stringify(payload));
    if (ttl) multi.expire(key, ttl);

    const { grantId, userCode, uid } = payload;
    if (grantId && GRANTABLE.has(this.name)) {
      const grantKey = this.#grantKey(grantId);
      multi.sadd(grantKey, key);
      // NX gives a new set its TTL; GT extends it when this token outlives the others.
      if (ttl) multi.expire(grantKey, ttl, 'NX').expire(grantKey, ttl, 'GT');
    }
    if (userCode) this.#setIndex(multi, this.#userCodeKey(userCode), id, ttl);
    if (uid && this.name === 'Session') this.#setIndex(multi, this.#uidKey(uid), id, ttl);
    await execTransaction(multi);
  }

  #setIndex(multi: ChainableCommander, indexKey: string, id: string, ttl: number | undefined): void {
    if (ttl) multi.set(indexKey, id, 'EX', ttl);
    else multi.set(indexKey, id);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const record = await this.#redis.hgetall(this.#key(id));
    if (record.payload === undefined) return undefined;
    const payload = JSON.parse(record.payload) as AdapterPayload;
    if (record.consumed !== undefined) payload.consumed = Number(record.consumed);
    return payload;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const id = await this.#redis.get(this.#userCodeKey(userCode));
    if (id === null) return undefined;
    const payload = await this.find(id);
    return payload?.userCode === userCode ? payload : undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = await this.#redis.get(this.#uidKey(uid));
    if (id === null) return undefined;
    const payload = await this.find(id);
    return payload?.uid === uid ? payload : undefined;
  }

  async consume(id: string): Promise<void> {
    await this.#redis.eval(CONSUME, 1, this.#key(id), Math.floor(Date.now() / 1000));
  }

  async destroy(id: string): Promise<void> {
    const key = this.#key(id);
    const payload = await this.find(id);
    const multi = this.#redis.multi().del(key);
    if (payload?.grantId && GRANTABLE.has(this.name)) multi.srem(this.#grantKey(payload.grantId), key);
    if (payload?.userCode) multi.eval(DELETE_IF_EQUAL, 1, this.#userCodeKey(payload.userCode), id);
    if (payload?.uid && this.name === 'Session')
      multi.eval(DELETE_IF_EQUAL, 1, this.#uidKey(payload.uid), id);
    await execTransaction(multi);
  }

  /** Deletes every token of the grant, whichever model's adapter is asked. */
  async revokeByGrantId(grantId: string): Promise<void> {
    const grantKey = this.#grantKey(grantId);
    // Take the members and drop the set atomically, then delete the tokens themselves.
    const [members] = await execTransaction(this.#redis.multi().smembers(grantKey).del(grantKey));
    const keys = members as string[];
    if (keys.length > 0) await this.#redis.del(...keys);
  }
}

/** For the provider configuration: `adapter: redisAdapterFactory(redis)`. */
export function redisAdapterFactory(redis: Redis, prefix?: string): new (name: string) => RedisAdapter {
  return class extends RedisAdapter {
    constructor(name: string) {
      super(name, redis, prefix);
    }
  };
}
