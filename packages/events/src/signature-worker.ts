/**
 * A signature pool's thread (signature-pool.ts): checks batches of event proofs with the same
 * checkProof as the event loop (signature, header, claims, digest comparison) and answers with one
 * outcome per job. The event loop then only applies the proof's binding and the digest's verdict.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { publicKeyFromMaterial } from './cnf.ts';
import { isEventRefusal } from './errors.ts';
import { checkProof } from './proof-check.ts';
import type { ProofClaims } from './proof.ts';

/**
 * [key material (ConfirmationKey.material), alg, kid ('' for none), compact proof, the record's
 * value bytes (a copy of their own: a view would carry its whole pooled buffer)]
 */
export type ProofJob = [string, string, string, string, Uint8Array];
export interface ProofBatch {
  id: number;
  jobs: ProofJob[];
}
/** Per job: the proof refused (its message), checked (claims, digest comparison) or not checked. */
export type ProofOutcome = ['refused', string] | ['checked', ProofClaims, boolean] | ['failed', string];
export interface ProofAnswer {
  id: number;
  outcomes: ProofOutcome[];
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

function run([material, alg, kid, proof, value]: ProofJob): ProofOutcome {
  const key = keyOf(material);
  // The event loop imported this material before asking: a key that does not import here verifies
  // nothing, as a signature that does not verify.
  if (key === undefined) return ['refused', 'proof signature does not verify under the cnf key'];
  try {
    const { claims, digestMatches } = checkProof(proof, { alg, key, ...(kid === '' ? {} : { kid }) }, value);
    return ['checked', claims, digestMatches];
  } catch (error) {
    if (isEventRefusal(error)) return ['refused', error.message];
    return ['failed', error instanceof Error ? error.message : String(error)];
  }
}

parentPort?.on('message', ({ id, jobs }: ProofBatch) => {
  parentPort!.postMessage({ id, outcomes: jobs.map(run) } satisfies ProofAnswer);
});
