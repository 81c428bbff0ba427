/**
 * pino's isoTime, formatted once per millisecond: a component writing an audit record per request
 * (and a log line at info) formats a Date for every one; records in the same millisecond share
 * the string. The output is pino.stdTimeFunctions.isoTime's, byte for byte.
 */
let lastMs = Number.NaN;
let lastStamp = '';

export function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastStamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastStamp;
}
