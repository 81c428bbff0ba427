/** Which database failures are "unavailable" (503, retry) rather than a bug (500). */
import { sqlState } from '@gatehouse/sql';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

export function isDatabaseUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  // 08: connection exception; 57P: operator intervention (shutdown, crash recovery); 53: resources.
  if (state) return state.startsWith('08') || state.startsWith('57P') || state.startsWith('53');
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const message = (error as { message?: unknown } | null)?.message;
  // pg's own wording for a pool that cannot connect in time or a connection that dropped.
  return typeof message === 'string' && /timeout exceeded when trying to connect|Connection terminated/i.test(message);
}
