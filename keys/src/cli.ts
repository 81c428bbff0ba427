#!/usr/bin/env node
// Entry point for `npm run keys -- <command>` and the `gatehouse-keys` bin. Kept free of logic so
// that tests can drive runCli in-process as well as by spawning this file.
import { runCli } from './cli-run.ts';

// A reader that goes away (`gatehouse-keys generate | head -c 10`) must not stop a command half-way:
// an unhandled EPIPE killed the process after the store changed, before its audit record and the
// lock's release. Output nobody reads is dropped; the command finishes.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  cwd: process.cwd(),
});
