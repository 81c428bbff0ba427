// The Redis jti deny list lives in @gatehouse/deny-list (shared with the sales service).
export { type RedisDenyList, REVOKED_JTI_PREFIX, redisDenyList } from '@gatehouse/deny-list';
