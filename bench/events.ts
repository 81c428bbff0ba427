/**
 * `npm run bench:events`: events consumed per second with full validation next to validation off,
 * in the same run, from the same records on the same broker.
 *
 * Set-up: a real token service (in this process, loopback) mints BENCH_TOKENS message tokens by the
 * RFC 8693 exchange for alice, as the gateway does; BENCH_EVENTS orders.created events are sealed
 * with the sales key (one proof each, tokens shared round-robin, as a cached message token covers
 * several orders) and produced once to a topic of the Kafka broker: librdkafka's mock cluster (a
 * real Kafka wire-protocol broker on loopback, built from Debian's librdkafka-dev), or, when it
 * cannot be built here, the embedded bus (the table says which).
 *
 * Then BENCH_ROUNDS rounds, each reading every record once per mode, in a fresh consumer group,
 * alternating the order of the modes:
 *   off   the consumer decodes the envelope (CloudEvent attributes, strict JSON data) only;
 *   full  the consumers' verifier: message token (shared validator, JWKS, verified-token cache),
 *         proof under cnf, digest, scope, org and expiry policy.
 * events/s = records / (time from the first record handled to the last), per round; the table shows
 * the median round of each mode and the ratio full/off (target ≥ 0.8). It never asserts it.
 *
 * Environment: BENCH_EVENTS (5000), BENCH_TOKENS (50), BENCH_ROUNDS (3).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_EXPIRY_POLICY } from '@gatehouse/consumer';
import { createEmbeddedBus, createKafkaBus, type EventBus, type OutgoingMessage } from '@gatehouse/event-bus';
import { kafkaMockUnavailable, startKafkaBroker } from '@gatehouse/event-bus/testing';
import { createEventVerifier, createProofSigner, decodeEvent, sealEvent } from '@gatehouse/events';
import { buildTokenService, loadTokenServiceConfig } from '@gatehouse/token-service';
import { createValidator, remoteKeys } from '@gatehouse/validator';
import { exchange, loginWithCode, oauthClient } from '../token-service/test/support/oauth.ts';
import { freePort } from '../token-service/test/support/token-service.ts';
import { BenchError } from './support/children.ts';
import { int, numberSetting, runBench, table } from './support/report.ts';

const TOPIC = 'bench.orders';
const AUDIENCE = 'urn:gatehouse:consumer:shipping';
const CONSUMERS = ['urn:gatehouse:consumer:shipping', 'urn:gatehouse:consumer:invoicing'];
const ROUND_TIMEOUT_MS = 120_000;

type Mode = 'off' | 'full';

async function main(): Promise<number> {
  const events = numberSetting('BENCH_EVENTS', 5000, 10, 1_000_000);
  const tokens = numberSetting('BENCH_TOKENS', 50, 1, 10_000);
  const rounds = numberSetting('BENCH_ROUNDS', 3, 1, 20);

  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-events-'));
  const cleanup: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  try {
    // Token service, in process (its work is done before the measured part starts).
    const port = await freePort();
    const config = loadTokenServiceConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      TOKEN_SERVICE_PORT: String(port),
      KEYSTORE_PATH: join(dir, 'keys', 'keystore.json'),
      CLIENT_KEYS_DIR: join(dir, 'clients'),
      AUDIT_LOG: join(dir, 'audit.jsonl'),
      RATE_LIMIT_TOKEN_PER_CLIENT: '1000000',
      RATE_LIMIT_TOKEN_PER_IP: '1000000',
    });
    const service = await buildTokenService(config);
    cleanup.push(() => service.close());
    await service.app.listen({ host: '127.0.0.1', port });
    const issuer = config.ISSUER;

    // Message tokens, as the gateway gets them; events sealed as sales seals them.
    const { tokens: user } = await loginWithCode(issuer, 'alice');
    const gateway = await oauthClient(issuer, 'gateway');
    const messageTokens: string[] = [];
    for (let i = 0; i < tokens; i++) {
      const answer = await exchange(gateway, {
        subject_token: user.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        audience: CONSUMERS,
        scope: 'orders.created',
        producer: 'sales',
      });
      messageTokens.push(answer.access_token);
    }
    const signer = await createProofSigner(
      JSON.parse(await readFile(join(dir, 'clients', 'sales.private.jwk.json'), 'utf8')),
    );
    const records: OutgoingMessage[] = [];
    for (let i = 0; i < events; i++) {
      const orderId = crypto.randomUUID();
      const time = new Date().toISOString();
      records.push(
        await sealEvent(signer, {
          attributes: { id: crypto.randomUUID(), type: 'orders.created', source: 'urn:gatehouse:sales', time, subject: orderId },
          data: {
            order_id: orderId,
            org_id: 'acme',
            customer: 'alice',
            subscription_level: 'premium',
            items: [{ sku: 'GH-MUG-001', quantity: 2, unit_price: 1250, line_total: 2500 }],
            total: 2500,
            currency: 'EUR',
            created_at: time,
          },
          messageToken: messageTokens[i % tokens]!,
        }),
      );
    }

    // The broker, and the records on it, once.
    let bus: EventBus;
    let broker = 'embedded bus (in process)';
    const missing = kafkaMockUnavailable();
    if (missing === undefined) {
      const mock = await startKafkaBroker();
      cleanup.push(() => mock.stop());
      await mock.createTopic(TOPIC, 3);
      bus = createKafkaBus({ brokers: mock.brokers, clientId: 'gatehouse-bench' });
      broker = `Kafka wire protocol: librdkafka mock cluster at ${mock.brokers.join(',')}, 3 partitions, kafkajs`;
    } else {
      bus = createEmbeddedBus();
      broker = `embedded bus (Kafka mock unavailable: ${missing})`;
    }
    cleanup.push(() => bus.close());
    const producer = await bus.producer();
    for (let i = 0; i < records.length; i += 500) await producer.send(TOPIC, records.slice(i, i + 500));
    await producer.disconnect();

    // One verifier for the whole run, as a consumer has: its JWKS and token cache warm up once.
    const validator = createValidator({ issuer, keys: remoteKeys(`${issuer}/jwks`) });
    const verifier = createEventVerifier({ validator, audience: AUDIENCE, policy: DEFAULT_EXPIRY_POLICY });
    const handlers: Record<Mode, (message: OutgoingMessage) => Promise<unknown>> = {
      off: async (message) => decodeEvent(message),
      full: (message) => verifier.verify(message),
    };

    const results: Record<Mode, number[]> = { off: [], full: [] };
    for (let round = 0; round < rounds; round++) {
      const order: Mode[] = round % 2 === 0 ? ['off', 'full'] : ['full', 'off'];
      for (const mode of order) results[mode].push(await consumeAll(bus, events, handlers[mode], `${mode}-${round}`));
    }

    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const off = median(results.off);
    const full = median(results.full);
    process.stdout.write(
      [
        `bench:events — ${int.format(events)} orders.created events, ${tokens} message tokens, ${rounds} rounds per mode (median shown)`,
        `broker: ${broker}; node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'})`,
        '',
        table(
          [
            ['mode', 'what the consumer does per record', 'events/s (median)', 'rounds', 'vs off'],
            ['off', 'decode envelope only', int.format(off), results.off.map((v) => int.format(v)).join(' / '), '1.00x'],
            [
              'full',
              'token + proof + digest + scope + org + policy',
              int.format(full),
              results.full.map((v) => int.format(v)).join(' / '),
              `${(full / off).toFixed(2)}x`,
            ],
          ],
          new Set([2, 4]),
        ),
        '',
        `target: full validation ≥ 0.80x of validation off — ${full / off >= 0.8 ? 'met' : 'NOT met'} (${(full / off).toFixed(2)}x)`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  }
}

/** Reads every record once in a fresh group; events/s from the first record handled to the last. */
async function consumeAll(
  bus: EventBus,
  count: number,
  handle: (message: OutgoingMessage) => Promise<unknown>,
  label: string,
): Promise<number> {
  let seen = 0;
  let first = 0;
  let last = 0;
  let failed: unknown;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const consumer = await bus.consume({
    groupId: `bench-${label}-${crypto.randomUUID()}`,
    topics: [TOPIC],
    fromBeginning: true,
    async handle(message) {
      if (seen === 0) first = performance.now();
      try {
        await handle(message);
      } catch (error) {
        failed ??= error;
      }
      seen += 1;
      if (seen === count) {
        last = performance.now();
        finish();
      }
    },
  });
  const timer = setTimeout(() => {
    failed ??= new BenchError(`${label}: only ${seen} of ${count} records within ${ROUND_TIMEOUT_MS} ms`);
    finish();
  }, ROUND_TIMEOUT_MS);
  await done;
  clearTimeout(timer);
  await consumer.stop();
  if (failed) throw failed instanceof BenchError ? failed : new BenchError(`${label}: a record failed: ${String(failed)}`);
  return (count / (last - first)) * 1000;
}

runBench('bench:events', main);
