#!/usr/bin/env node
/**
 * `npm start`: the all-in-one development stack (scripts/stack.ts): every Gatehouse component in
 * this one process on embedded defaults: no Redis, Kafka or database server needed.
 *   token service  http://localhost:4000   gateway (and the browser UI)  http://localhost:8080
 *   sales          http://127.0.0.1:4100   shipping 4200   invoicing 4300
 * Set KAFKA_BROKERS (and the other KAFKA_* settings) to use a real Kafka, DATABASE_URL per service
 * when run on their own. EVENTS_TAIL=<topic> prints each record of that topic, decoded and judged
 * as `npm run events -- tail` does (the embedded bus cannot be reached from another process).
 */
import { exitOnConfigError } from '@gatehouse/config';
import { DEFAULT_EXPIRY_POLICY } from '@gatehouse/consumer';
import { createValidator, remoteKeys } from '@gatehouse/validator';
import { consumerVerdicts, formatRecord, tail } from './events/tail.ts';
import { startStack } from './stack.ts';

// A bad setting of any component stops the stack with its name and exit code 78, as each would alone.
const stack = await startStack().catch((error: unknown) => exitOnConfigError(error));
const { urls } = stack;

process.stdout.write(
  [
    '',
    `Gatehouse dev stack is up (event bus: ${stack.bus.kind}):`,
    `  browser UI      ${urls.gateway}/`,
    `  token service   ${urls['token-service']}  (discovery: ${urls['token-service']}/.well-known/openid-configuration)`,
    `  gateway         ${urls.gateway}  (routes: ${stack.gateway.routes.map((r) => r.prefix).join(', ')})`,
    `  sales           ${urls.sales}   shipping ${urls.shipping}   invoicing ${urls.invoicing}`,
    '  demo users      alice (acme, premium), bob (acme, basic), carol (globex), admin (acme, admin)',
    '                  password: DEMO_USER_PASSWORD, default gatehouse-demo-password',
    '',
  ].join('\n'),
);

const tailTopic = process.env.EVENTS_TAIL;
let stopTail: (() => Promise<void>) | undefined;
if (tailTopic) {
  const issuer = urls['token-service'];
  const validator = createValidator({ issuer, keys: remoteKeys(`${issuer}/jwks`) });
  const session = await tail({
    bus: stack.bus,
    topic: tailTopic,
    fromBeginning: false,
    verdicts: consumerVerdicts(validator, DEFAULT_EXPIRY_POLICY),
    onRecord: (record) => process.stdout.write(`${formatRecord(record)}\n`),
  });
  stopTail = session.stop;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.resolve(stopTail?.())
      .then(() => stack.close())
      .finally(() => process.exit(0));
  });
}
