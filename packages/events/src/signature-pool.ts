/**
 * Event proofs checked on worker threads. An ES256 check is most of a record's verification
 * (~110 µs of CPU here, as DER: signature.ts); on the event loop it holds up every other record,
 * commit and heartbeat. The thread runs the whole of checkProof (proof-check.ts): the signature,
 * the header and claims' strict JSON and the digest comparison, ~15 µs more that the event loop
 * would otherwise spend per record; it answers with the claims.
 * A consumer verifies the next records ahead of their turn (the bus's prepare lookahead), so
 * several checks are asked for at once: the pool sends them to a thread in one message per event
 * loop turn and the event loop pays a few microseconds per record instead of the check.
 * node:crypto's own asynchronous forms (a callback, WebCrypto) were measured at 50-80 µs of event
 * loop time per check here: they pass one job at a time to the thread pool.
 *
 * A refused proof rejects with the same EventRefusal (ERR_EVENT_PROOF_INVALID, same message) as on
 * the event loop. A thread that dies fails its batches with SignaturePoolError (not a refusal: the
 * consumer retries the record) and is replaced on the next check.
 */
import { Worker } from 'node:worker_threads';
import type { ConfirmationKey } from './cnf.ts';
import { EventRefusal } from './errors.ts';
import type { CheckedProof, ProofChecker } from './proof-check.ts';
import type { ProofAnswer, ProofBatch, ProofJob, ProofOutcome } from './signature-worker.ts';

export interface SignaturePoolOptions {
  /** Worker threads, 1-16. */
  threads: number;
  /** Checks per message to a thread, default 16 (a lookahead refill travels in one message). */
  maxBatch?: number;
  /** Tests only: the thread's module (default signature-worker.ts). */
  workerUrl?: URL;
}

export interface SignaturePool extends ProofChecker {
  readonly threads: number;
  /**
   * Resolves with the proof's claims and digest comparison; rejects with EventRefusal for a bad
   * proof, with SignaturePoolError when no thread could answer.
   */
  check(proof: string, key: ConfirmationKey, value: Uint8Array): Promise<CheckedProof>;
  /** Terminates the threads; checks in flight or asked for later fail with SignaturePoolError. */
  close(): Promise<void>;
}

/** A check that could not be done (thread died, pool closed): transient, never a refusal. */
export class SignaturePoolError extends Error {
  readonly code = 'ERR_SIGNATURE_POOL';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SignaturePoolError';
  }
}

interface Pending {
  resolve(outcomes: ProofOutcome[]): void;
  reject(error: Error): void;
}

interface Queued {
  job: ProofJob;
  resolve(checked: CheckedProof): void;
  reject(error: Error): void;
}

function settle(entry: Queued, outcome: ProofOutcome | undefined): void {
  if (outcome?.[0] === 'checked') entry.resolve({ claims: outcome[1], digestMatches: outcome[2] });
  else if (outcome?.[0] === 'refused') entry.reject(new EventRefusal('ERR_EVENT_PROOF_INVALID', outcome[1]));
  else entry.reject(new SignaturePoolError(`proof check failed on its thread: ${outcome?.[1] ?? 'no answer'}`));
}

interface Thread {
  worker: Worker;
  /** Batches sent to this thread and not answered yet, by id. */
  pending: Map<number, Pending>;
}

const WORKER_URL = new URL('./signature-worker.ts', import.meta.url);

export function createSignaturePool(options: SignaturePoolOptions): SignaturePool {
  const { threads } = options;
  if (!Number.isInteger(threads) || threads < 1 || threads > 16) {
    throw new TypeError(`threads must be an integer from 1 to 16, not ${String(threads)}`);
  }
  const maxBatch = options.maxBatch ?? 16;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new TypeError(`maxBatch must be a positive integer, not ${String(maxBatch)}`);
  }
  const workerUrl = options.workerUrl ?? WORKER_URL;
  const pool: Array<Thread | undefined> = new Array(threads).fill(undefined);
  let next = 0;
  let batchId = 0;
  let closed = false;
  /** Checks asked for in this event loop turn, sent together by flush(). */
  let queue: Queued[] = [];
  let flushing = false;

  const start = (slot: number): Thread => {
    const thread: Thread = { worker: new Worker(workerUrl), pending: new Map() };
    const fail = (error: Error) => {
      if (pool[slot] === thread) pool[slot] = undefined;
      for (const waiting of thread.pending.values()) waiting.reject(error);
      thread.pending.clear();
    };
    thread.worker.on('message', ({ id, outcomes }: ProofAnswer) => {
      const waiting = thread.pending.get(id);
      thread.pending.delete(id);
      // Idle threads do not keep the process alive; a thread with work does.
      if (thread.pending.size === 0) thread.worker.unref();
      waiting?.resolve(outcomes);
    });
    thread.worker.on('error', (error) => fail(new SignaturePoolError('signature thread failed', { cause: error })));
    thread.worker.on('exit', (code) => fail(new SignaturePoolError(`signature thread exited (${code})`)));
    thread.worker.unref();
    pool[slot] = thread;
    return thread;
  };

  const send = (batch: typeof queue) => {
    const slot = next;
    next = (next + 1) % threads;
    const thread = pool[slot] ?? start(slot);
    const id = ++batchId;
    thread.pending.set(id, {
      resolve: (outcomes) => batch.forEach((entry, i) => settle(entry, outcomes[i])),
      reject: (error) => batch.forEach((entry) => entry.reject(error)),
    });
    thread.worker.ref();
    thread.worker.postMessage({ id, jobs: batch.map((entry) => entry.job) } satisfies ProofBatch);
  };

  const flush = () => {
    flushing = false;
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += maxBatch) send(all.slice(i, i + maxBatch));
  };

  return {
    threads,
    check(proof: string, key: ConfirmationKey, value: Uint8Array): Promise<CheckedProof> {
      if (closed) return Promise.reject(new SignaturePoolError('signature pool is closed'));
      // The value's own copy: a Buffer from a Kafka fetch is a view on the whole fetched response,
      // which postMessage would copy entire.
      const job: ProofJob = [key.material, key.alg, key.kid ?? '', proof, new Uint8Array(value)];
      return new Promise((resolve, reject) => {
        queue.push({ job, resolve, reject });
        if (!flushing) {
          flushing = true;
          // After this turn's microtasks: the checks a lookahead starts together leave together.
          setImmediate(flush);
        }
      });
    },
    async close() {
      closed = true;
      const waiting = queue;
      queue = [];
      for (const entry of waiting) entry.reject(new SignaturePoolError('signature pool is closed'));
      await Promise.all(
        pool.map(async (thread, slot) => {
          if (thread === undefined) return;
          pool[slot] = undefined;
          for (const waiting of thread.pending.values()) waiting.reject(new SignaturePoolError('signature pool is closed'));
          thread.pending.clear();
          await thread.worker.terminate();
        }),
      );
    },
  };
}
