/**
 * A signature pool's thread (signature-pool.ts): checks batches of proof signatures with the same
 * signatureVerifies as the event loop, and answers with one boolean per job.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { publicKeyFromMaterial } from './cnf.ts';
import { signatureVerifies } from './signature.ts';

/** [key material (ConfirmationKey.material), alg, signing input, base64url signature] */
export type SignatureJob = [string, string, string, string];
export interface SignatureBatch {
  id: number;
  jobs: SignatureJob[];
}
export interface SignatureAnswer {
  id: number;
  results: boolean[];
}

/** Imported keys by material, bounded as cnf.ts bounds the event loop's. */
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 1000;

function keyOf(material: string): KeyObject | undefined {
  let key = keys.get(material);
  if (key === undefined) {
    try {
      key = publicKeyFromMaterial(material);
    } catch {
      return undefined;
    }
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(material, key);
  }
  return key;
}

parentPort?.on('message', ({ id, jobs }: SignatureBatch) => {
  const results = jobs.map(([material, alg, input, signature]) => {
    const key = keyOf(material);
    return key !== undefined && signatureVerifies(key, alg, input, signature);
  });
  parentPort!.postMessage({ id, results } satisfies SignatureAnswer);
});
