#!/usr/bin/env node
// Entry point for `npm run keys -- <command>` and the `gatehouse-keys` bin. Kept free of logic so
// that tests can drive runCli in-process as well as by spawning this file.
import { runCli } from './cli-run.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  cwd: process.cwd(),
});
