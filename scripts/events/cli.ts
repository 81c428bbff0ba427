/**
 * `npm run events -- <command>`: the operators' view of the event topics.
 *
 *   tail <topic> [--from-beginning | --from-end] [--limit N] [--as shipping,invoicing] [--json]
 *
 * Settings (environment, like the services): KAFKA_BROKERS and the other KAFKA_* settings of
 * @gatehouse/event-bus (SASL/TLS), TOKEN_SERVICE_URL (issuer, JWKS at <url>/jwks),
 * EXPIRY_POLICY_FILE (the consumers' policy; their default otherwise), EVENT_PROOF_ALGORITHMS (as
 * the consumers' setting).
 * The embedded bus of `npm start` lives inside that process: set EVENTS_TAIL=<topic> there instead.
 */
import { parseArgs } from 'node:util';
import { ConfigError, httpUrl, loadConfig } from '@gatehouse/config';
import { DEFAULT_EXPIRY_POLICY, proofAlgorithms } from '@gatehouse/consumer';
import { type EventBus, kafkaOptionsFromConfig, kafkaSettings, createKafkaBus } from '@gatehouse/event-bus';
import { parseExpiryPolicy } from '@gatehouse/events';
import { createLogger } from '@gatehouse/observability';
import { createValidator, remoteKeys } from '@gatehouse/validator';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { consumerVerdicts, formatRecord, tail } from './tail.ts';

const USAGE = `usage: npm run events -- tail <topic> [--from-beginning | --from-end] [--limit N] [--as shipping,invoicing] [--json]`;

const schema = z.object({
  TOKEN_SERVICE_URL: httpUrl().default('http://localhost:4000'),
  EXPIRY_POLICY_FILE: z.string().min(1).optional(),
  EVENT_PROOF_ALGORITHMS: proofAlgorithms(),
  ...kafkaSettings,
});

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** For tests: a bus to read instead of the configured Kafka. */
  bus?: EventBus;
  /** Resolves when the operator interrupts (Ctrl-C). */
  interrupted?: Promise<void>;
}

export async function runEventsCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'from-beginning': { type: 'boolean' },
        'from-end': { type: 'boolean' },
        limit: { type: 'string' },
        as: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [command, topic, ...rest] = positionals;
  if (command !== 'tail' || topic === undefined || rest.length > 0) {
    io.err(USAGE);
    return 2;
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    io.err(`--limit must be a positive integer\n${USAGE}`);
    return 2;
  }

  let config;
  let bus = io.bus;
  try {
    config = loadConfig(schema, { env: io.env });
    if (!bus) {
      const options = kafkaOptionsFromConfig(config, createLogger('events-cli', 'warn'));
      if (!options) throw new ConfigError('KAFKA_BROKERS: required (the embedded bus of `npm start` is in-process: set EVENTS_TAIL=<topic> there)', ['KAFKA_BROKERS']);
      bus = createKafkaBus(options);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 78;
    }
    throw error;
  }
  const policy = config.EXPIRY_POLICY_FILE
    ? parseExpiryPolicy(JSON.parse(readFileSync(config.EXPIRY_POLICY_FILE, 'utf8')))
    : DEFAULT_EXPIRY_POLICY;
  const validator = createValidator({
    issuer: config.TOKEN_SERVICE_URL,
    keys: remoteKeys(new URL('/jwks', config.TOKEN_SERVICE_URL).href),
  });
  let verdicts;
  try {
    const only = values.as?.split(',').map((s) => s.trim());
    verdicts = consumerVerdicts(validator, policy, { only, proofAlgorithms: config.EVENT_PROOF_ALGORITHMS });
  } catch (error) {
    io.err((error as Error).message);
    return 2;
  }

  const session = await tail({
    bus,
    topic,
    verdicts,
    fromBeginning: !values['from-end'],
    ...(limit === undefined ? {} : { limit }),
    onRecord: (record) => io.out(values.json ? JSON.stringify(record) : formatRecord(record)),
  });
  await Promise.race([session.done, io.interrupted ?? new Promise(() => {})]);
  await session.stop();
  if (!io.bus) await bus.close();
  return 0;
}
