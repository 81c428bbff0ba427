import { EventBusError } from './errors.ts';
import type { OutgoingMessage } from './types.ts';

// Kafka's own rule for topic names; the embedded bus keeps it so a name that works in
// development also works against a broker.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw new EventBusError('ERR_BUS_MESSAGE_INVALID', `not a valid topic name: ${JSON.stringify(topic)}`);
  }
}

function checkHeaders(headers: unknown, index: number): void {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new EventBusError('ERR_BUS_MESSAGE_INVALID', `message ${index}: headers must be an object`);
  }
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') {
      throw new EventBusError('ERR_BUS_MESSAGE_INVALID', `message ${index}: header ${name} is not a string`);
    }
  }
}

/** Refuses, before anything is sent, a batch a broker could not carry as given. */
export function checkOutgoing(topic: unknown, messages: unknown): asserts messages is OutgoingMessage[] {
  checkTopic(topic);
  if (!Array.isArray(messages)) {
    throw new EventBusError('ERR_BUS_MESSAGE_INVALID', 'messages must be an array');
  }
  messages.forEach((message: Partial<OutgoingMessage>, index) => {
    if (message.key !== null && typeof message.key !== 'string') {
      throw new EventBusError('ERR_BUS_MESSAGE_INVALID', `message ${index}: key must be a string or null`);
    }
    if (!Buffer.isBuffer(message.value)) {
      throw new EventBusError('ERR_BUS_MESSAGE_INVALID', `message ${index}: value must be a Buffer`);
    }
    checkHeaders(message.headers, index);
  });
}

/** Refuses consumer options no broker could honour, before anything joins a group. */
export function checkConsumerOptions(options: unknown): void {
  const { groupId, topics, handle, prepare, lookahead } = (options ?? {}) as Record<string, unknown>;
  if (typeof groupId !== 'string' || groupId.length === 0) {
    throw new EventBusError('ERR_BUS_OPTIONS', 'consumer: groupId must be a non-empty string');
  }
  if (!Array.isArray(topics) || topics.length === 0) {
    throw new EventBusError('ERR_BUS_OPTIONS', 'consumer: topics must list at least one topic');
  }
  for (const topic of topics) checkTopic(topic);
  if (typeof handle !== 'function') {
    throw new EventBusError('ERR_BUS_OPTIONS', 'consumer: handle must be a function');
  }
  if (prepare !== undefined && typeof prepare !== 'function') {
    throw new EventBusError('ERR_BUS_OPTIONS', 'consumer: prepare must be a function');
  }
  if (
    lookahead !== undefined &&
    (typeof lookahead !== 'number' || !Number.isInteger(lookahead) || lookahead < 1 || lookahead > 1000)
  ) {
    throw new EventBusError('ERR_BUS_OPTIONS', `consumer: lookahead must be an integer from 1 to 1000, not ${String(lookahead)}`);
  }
}

export function checkPartitions(partitions: unknown): number {
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1 || partitions > 1000) {
    throw new EventBusError('ERR_BUS_OPTIONS', `partitions must be an integer from 1 to 1000, not ${String(partitions)}`);
  }
  return partitions;
}
