#!/usr/bin/env node
// Entry point for `npm run events -- <command>`; the logic is in events/cli.ts (tested in-process).
import { runEventsCli } from './events/cli.ts';

const interrupted = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
  // A reader that goes away (`npm run events -- tail orders | head -n 5`) ends the tail, as a
  // closed pipe ends `tail -f`: an unhandled EPIPE crashed it, and ignoring it alone would leave
  // it following the topic for nobody. Output nobody reads is dropped meanwhile.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    resolve();
  });
});

process.exitCode = await runEventsCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  interrupted,
});
