/** The Gatehouse route both gateway benches measure (bench:gateway and its cost companion). */
export function benchRoute(upstream: string) {
  return {
    name: 'orders',
    prefix: '/api/orders',
    upstream,
    methods: ['GET'],
    auth: 'bearer',
    scopes: ['orders:read'],
    roles: [] as string[],
    rateLimit: { policy: 'ip', failMode: 'closed' },
  };
}
