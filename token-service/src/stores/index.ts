export { memoryStores } from './memory.ts';
export { createRedis, redisStores } from './redis.ts';
export type { AttemptCounter, GrantTokenIndex, JtiDenyList, Stores } from './types.ts';
