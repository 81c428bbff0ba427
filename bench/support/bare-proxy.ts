/**
 * Contender "bare proxy" (a child process): Fastify + @fastify/http-proxy, no auth, no limits,
 * the same prefix rewrite as the gateway route (/api/orders -> /orders).
 */
import httpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import { exitWithParent, required } from './children.ts';

const port = Number(required('BENCH_PORT'));
const upstream = required('BENCH_UPSTREAM');

const app = Fastify({ logger: false });
await app.register(httpProxy, { upstream, prefix: '/api/orders', rewritePrefix: '/orders', httpMethods: ['GET', 'HEAD'] });
await app.listen({ host: '127.0.0.1', port });
exitWithParent(() => app.close());
