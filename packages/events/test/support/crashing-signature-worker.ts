// A signature pool thread that dies on a batch holding a proof for the event "crash" and otherwise
// is the real one (signature-pool.test.ts): listeners run in order, so this one exits first.
import { parentPort } from 'node:worker_threads';
import type { ProofBatch } from '../../src/signature-worker.ts';

const crashes = (proof: string) => Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString().includes('"evt":"crash"');

parentPort?.on('message', ({ jobs }: ProofBatch) => {
  if (jobs.some((job) => crashes(job[3]))) process.exit(3);
});
await import('../../src/signature-worker.ts');
