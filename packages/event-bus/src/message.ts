import type { DeliveredMessage } from './types.ts';

/** Each delivery gets its own copy: a handler that mutates a message cannot change another's. */
export function copyMessage(message: DeliveredMessage): DeliveredMessage {
  const copy: DeliveredMessage = { ...message, value: Buffer.from(message.value), headers: { ...message.headers } };
  if (message.duplicateHeaders) copy.duplicateHeaders = [...message.duplicateHeaders];
  return copy;
}
