// The memoised timestamp is pino's isoTime, byte for byte, and moves with the clock.
import { pino } from 'pino';
import t from 'tap';
import { isoTime } from '../src/time.ts';

t.test('isoTime writes what pino.stdTimeFunctions.isoTime writes', async (t) => {
  const realNow = Date.now;
  t.teardown(() => {
    Date.now = realNow;
  });
  for (const ms of [0, 1_700_000_000_123, 1_700_000_000_123, 1_700_000_000_124, 1_700_000_060_000]) {
    Date.now = () => ms;
    t.equal(isoTime(), pino.stdTimeFunctions.isoTime(), `at ${ms}`);
  }
});
