// A signature pool thread that dies on a batch holding the signing input "crash" and otherwise is
// the real one (signature-pool.test.ts): listeners run in order, so this one exits first.
import { parentPort } from 'node:worker_threads';
import type { SignatureBatch } from '../../src/signature-worker.ts';

parentPort?.on('message', ({ jobs }: SignatureBatch) => {
  if (jobs.some((job) => job[2] === 'crash')) process.exit(3);
});
await import('../../src/signature-worker.ts');
