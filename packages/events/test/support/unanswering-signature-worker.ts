// A signature pool thread that answers without a verdict (signature-pool.test.ts): the first job of
// a batch "failed" (the check threw something other than a refusal), the others not at all.
import { parentPort } from 'node:worker_threads';
import type { ProofAnswer, ProofBatch } from '../../src/signature-worker.ts';

parentPort?.on('message', ({ id }: ProofBatch) => {
  parentPort!.postMessage({ id, outcomes: [['failed', 'boom']] } satisfies ProofAnswer);
});
