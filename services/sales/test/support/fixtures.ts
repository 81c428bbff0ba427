/** Orders and sealed outbox rows without the HTTP layer, for relay and store tests. */
import { randomUUID } from 'node:crypto';
import { createProofSigner, type ProofSigner, sealEvent } from '@gatehouse/events';
import type { Producer, OutgoingMessage } from '@gatehouse/event-bus';
import type { Database } from '@gatehouse/sql';
import { exportJWK, generateKeyPair } from 'jose';
import { priceOrder } from '../../src/catalog.ts';
import { type Order, orderCreatedEvent } from '../../src/orders/order.ts';
import { placeOrder } from '../../src/orders/repository.ts';

export async function testSigner(): Promise<ProofSigner> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return createProofSigner({ ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'ES256' });
}

export async function storeOrder(
  db: Database,
  signer: ProofSigner,
  options: { topic?: string; orgId?: string; customer?: string } = {},
): Promise<Order> {
  const order: Order = {
    id: randomUUID(),
    org_id: options.orgId ?? 'acme',
    customer: options.customer ?? 'alice-sub',
    ...priceOrder([{ sku: 'GH-MUG-001', quantity: 2 }]),
    created_at: new Date().toISOString(),
  };
  const event = orderCreatedEvent(order, randomUUID(), 'premium');
  const messageToken = `test.message.${order.id}`;
  const record = await sealEvent(signer, { ...event, messageToken });
  await placeOrder(db, order, {
    orderId: order.id,
    topic: options.topic ?? 'orders',
    record,
    attributes: event.attributes,
    messageToken,
  });
  return order;
}

export interface FakeProducer extends Producer {
  sent: Array<{ topic: string; message: OutgoingMessage }>;
  /** Sends that should fail from now on (each failure decrements). */
  failNext: number;
  /** While set, send waits for it. */
  gate?: Promise<void>;
  sendCalls: number;
}

export function fakeProducer(): FakeProducer {
  const producer: FakeProducer = {
    sent: [],
    failNext: 0,
    sendCalls: 0,
    async send(topic, messages) {
      producer.sendCalls += 1;
      if (producer.gate) await producer.gate;
      if (producer.failNext > 0) {
        producer.failNext -= 1;
        throw Object.assign(new Error('broker unavailable'), { code: 'ERR_TEST_BROKER_DOWN' });
      }
      for (const message of messages) producer.sent.push({ topic, message });
    },
    async disconnect() {},
  };
  return producer;
}

export async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  // No timing assertion: wait as long as the test's own timeout allows, polling.
  for (;;) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
    void what;
  }
}
