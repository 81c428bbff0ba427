#!/usr/bin/env node
// Entry point for `npm run events -- <command>`; the logic is in events/cli.ts (tested in-process).
import { runEventsCli } from './events/cli.ts';

const interrupted = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});

process.exitCode = await runEventsCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  interrupted,
});
