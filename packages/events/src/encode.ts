/**
 * Producer side of the envelope: CloudEvents Kafka binary mode. cloudevents' Kafka.binary maps the
 * attributes to ce_* headers; the value is our own bytes (the digest is over exactly what is sent),
 * never the SDK's serialisation of data.
 */
import { Kafka } from 'cloudevents';
import { attributesProblem, toCloudEvent } from './attributes.ts';
import { CONTENT_TYPE_HEADER, HEADER, JSON_CONTENT_TYPE, SIZE_BUDGET } from './constants.ts';
import { digest, encodeData } from './digest.ts';
import { EventEnvelopeError } from './errors.ts';
import type { ProofSigner } from './proof.ts';
import { headersBytes } from './size.ts';
import type { EventAttributes, EventRecord } from './types.ts';

export interface EncodeEventInput {
  attributes: EventAttributes;
  data: Buffer;
  messageToken: string;
  proof: string;
  replayGrant?: string;
}

/** Builds the Kafka binary-mode record: ce_* headers, content-type, token/proof/grant headers, key = subject ?? id. */
export function encodeEvent(input: EncodeEventInput): EventRecord {
  const { attributes, data, messageToken, proof, replayGrant } = input;
  checkAttributes(attributes);
  if (!Buffer.isBuffer(data)) throw new TypeError('data must be a Buffer (see encodeData)');
  requireCredential('messageToken', messageToken);
  requireCredential('proof', proof);
  if (replayGrant !== undefined) requireCredential('replayGrant', replayGrant);
  checkBudget('data', data.length, SIZE_BUDGET.data);
  checkBudget('messageToken', Buffer.byteLength(messageToken), SIZE_BUDGET.messageToken);
  checkBudget('proof', Buffer.byteLength(proof), SIZE_BUDGET.proof);
  if (replayGrant !== undefined) {
    checkBudget('replayGrant', Buffer.byteLength(replayGrant), SIZE_BUDGET.replayGrant);
  }
  const headers: Record<string, string> = {
    ...attributeHeaders(attributes),
    [CONTENT_TYPE_HEADER]: JSON_CONTENT_TYPE,
    [HEADER.messageToken]: messageToken,
    [HEADER.proof]: proof,
    ...(replayGrant === undefined ? {} : { [HEADER.replayGrant]: replayGrant }),
  };
  checkBudget('headers', headersBytes(headers), SIZE_BUDGET.headers);
  // Same key, same partition: one order's events stay in order.
  return { key: attributes.subject ?? attributes.id, value: data, headers };
}

export interface SealEventInput {
  attributes: EventAttributes;
  data: Record<string, unknown>;
  messageToken: string;
  replayGrant?: string;
}

/** One call for producers: encodes data, signs the proof, builds the record. */
export async function sealEvent(signer: ProofSigner, input: SealEventInput): Promise<EventRecord> {
  checkAttributes(input.attributes);
  const data = encodeData(input.data);
  // Before signing: an oversized event is refused without spending a signature on it.
  checkBudget('data', data.length, SIZE_BUDGET.data);
  const proof = await signer.sign(input.attributes, digest(data), input.messageToken, input.replayGrant);
  return encodeEvent({
    attributes: input.attributes,
    data,
    messageToken: input.messageToken,
    proof,
    ...(input.replayGrant === undefined ? {} : { replayGrant: input.replayGrant }),
  });
}

/**
 * The SDK emits every own property of the event as ce_<name>, including unset ones (undefined) and
 * ce_datacontenttype, which binary mode carries as content-type instead: keep only set ce_* strings.
 */
function attributeHeaders(attributes: EventAttributes): Record<string, string> {
  const { headers } = Kafka.binary(toCloudEvent(attributes));
  return Object.fromEntries(
    Object.entries(headers).filter(
      (entry): entry is [string, string] =>
        entry[0].startsWith('ce_') && entry[0] !== 'ce_datacontenttype' && typeof entry[1] === 'string',
    ),
  );
}

function checkAttributes(attributes: EventAttributes): void {
  const problem = attributesProblem(attributes);
  if (problem !== undefined) throw new EventEnvelopeError('ERR_EVENT_ATTRIBUTES', problem);
}

function requireCredential(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
}

function checkBudget(part: string, bytes: number, budget: number): void {
  if (bytes > budget) {
    throw new EventEnvelopeError(
      'ERR_EVENT_TOO_LARGE',
      `event ${part} is ${bytes} bytes, over its ${budget} budget`,
    );
  }
}
