// In-process API key store (development, tests, a single instance). Records are copied in and out
// so a caller editing a returned record cannot edit the store.
import type { ApiKeyRecord, ApiKeyStore } from './types.ts';

/** Keys are created by admins only and capped per org; this bounds the map whatever happens. */
const MAX_RECORDS = 100_000;

const copy = (record: ApiKeyRecord): ApiKeyRecord => ({ ...record, scopes: [...record.scopes] });

export function memoryApiKeyStore(maxRecords = MAX_RECORDS): ApiKeyStore {
  const byId = new Map<string, ApiKeyRecord>();
  const idByHash = new Map<string, string>();
  const idsByOrg = new Map<string, Set<string>>();

  return {
    async create(record) {
      if (byId.size >= maxRecords) throw new Error('api key store is full');
      if (byId.has(record.id) || idByHash.has(record.hash)) throw new Error('api key already exists');
      byId.set(record.id, copy(record));
      idByHash.set(record.hash, record.id);
      let ids = idsByOrg.get(record.org_id);
      if (!ids) idsByOrg.set(record.org_id, (ids = new Set()));
      ids.add(record.id);
    },
    async findByHash(hash) {
      const id = idByHash.get(hash);
      const record = id === undefined ? undefined : byId.get(id);
      return record && copy(record);
    },
    async list(orgId) {
      const ids = [...(idsByOrg.get(orgId) ?? [])];
      return ids
        .map((id) => copy(byId.get(id)!))
        .sort((a, b) => b.created_at - a.created_at || a.id.localeCompare(b.id));
    },
    async revoke(orgId, id, at) {
      const record = byId.get(id);
      if (!record || record.org_id !== orgId) return undefined;
      record.revoked_at ??= at;
      return copy(record);
    },
    async touch(id, at) {
      const record = byId.get(id);
      if (record) record.last_used_at = Math.max(record.last_used_at ?? 0, at);
    },
  };
}
