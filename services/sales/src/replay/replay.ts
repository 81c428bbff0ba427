/**
 * Re-publishing stored events under a replay grant. Each record keeps its attributes, data bytes
 * and message token exactly as first sent (so consumers dedupe it by ce_id and its digest still
 * matches) and gets a fresh proof naming the grant (rgh): a grant lifted off one record cannot be
 * put on another. The original outbox row is not touched.
 */
import { digest, encodeEvent, type EventRecord, type ProofSigner } from '@gatehouse/events';
import type { Producer } from '@gatehouse/event-bus';
import type { OutboxEvent } from '../outbox/store.ts';

/** Pure but for signing: the replayed record of one stored event. */
export async function replayRecord(event: OutboxEvent, signer: ProofSigner, grant: string): Promise<EventRecord> {
  const proof = await signer.sign(event.attributes, digest(event.value), event.messageToken, grant);
  return encodeEvent({
    attributes: event.attributes,
    data: event.value,
    messageToken: event.messageToken,
    proof,
    replayGrant: grant,
  });
}

const SEND_BATCH = 100;

/** Signs and sends in seq order, a batch at a time; resolves with the count, or rejects with `sent` so far. */
export async function replayEvents(
  events: OutboxEvent[],
  signer: ProofSigner,
  grant: string,
  producer: Producer,
): Promise<number> {
  let sent = 0;
  for (let i = 0; i < events.length; i += SEND_BATCH) {
    const batch = events.slice(i, i + SEND_BATCH);
    const records = await Promise.all(batch.map((event) => replayRecord(event, signer, grant)));
    // One send per topic run keeps the order; rows of one request normally share a topic.
    let start = 0;
    while (start < batch.length) {
      let end = start + 1;
      while (end < batch.length && batch[end]!.topic === batch[start]!.topic) end += 1;
      try {
        await producer.send(batch[start]!.topic, records.slice(start, end));
      } catch (error) {
        throw new ReplayIncompleteError(sent, error);
      }
      sent += end - start;
      start = end;
    }
  }
  return sent;
}

export class ReplayIncompleteError extends Error {
  readonly code = 'ERR_REPLAY_INCOMPLETE';
  readonly sent: number;
  constructor(sent: number, cause: unknown) {
    super(`replay stopped after ${sent} events: the event bus refused`, { cause });
    this.name = 'ReplayIncompleteError';
    this.sent = sent;
  }
}
