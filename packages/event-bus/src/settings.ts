/**
 * The Kafka settings every deployable shares, as a zod shape its one config schema spreads in:
 *   z.object({ ...ownSettings, ...kafkaSettings }).superRefine(refineKafkaSettings)
 * then busFromSettings(config, logger) gives the Kafka bus, or undefined without KAFKA_BROKERS
 * (the deployable then decides: the embedded bus in development).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, flag, list } from '@gatehouse/config';
import type { Logger } from '@gatehouse/observability';
import { z } from 'zod';
import { createKafkaBus, type KafkaBus, type KafkaBusOptions, type KafkaTls } from './kafka.ts';

const optionalText = () => z.string().min(1).optional();

export const kafkaSettings = {
  /** Comma-separated host:port bootstrap brokers. Unset: no Kafka. */
  KAFKA_BROKERS: list([]).pipe(z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'expected host:port[,host:port…]'))),
  /** Default: the logger's component (the deployable's name). */
  KAFKA_CLIENT_ID: optionalText(),
  KAFKA_SSL: flag(false),
  /** PEM files; CA for a private CA, cert+key for mutual TLS. */
  KAFKA_SSL_CA_FILE: optionalText(),
  KAFKA_SSL_CERT_FILE: optionalText(),
  KAFKA_SSL_KEY_FILE: optionalText(),
  KAFKA_SASL_MECHANISM: z
    .enum(['scram-sha-256', 'scram-sha-512', 'plain'], { message: 'expected scram-sha-256, scram-sha-512 or plain' })
    .optional(),
  KAFKA_SASL_USERNAME: optionalText(),
  /** Prefer KAFKA_SASL_PASSWORD_FILE (a mounted Secret); never both. */
  KAFKA_SASL_PASSWORD: optionalText(),
  KAFKA_SASL_PASSWORD_FILE: optionalText(),
  /**
   * Consumers: the longest a partition goes on with handled offsets uncommitted, in ms (0: commit
   * every message). Unset: the bus default, 1000 (kafka-commits.ts).
   */
  KAFKA_COMMIT_INTERVAL_MS: z.coerce
    .number({ message: 'expected a number of milliseconds' })
    .int('expected a whole number of milliseconds')
    .min(0, 'expected 0 or more milliseconds')
    .max(3_600_000, 'expected at most 3600000 milliseconds (an hour)')
    .optional(),
};

export type KafkaSettings = z.output<z.ZodObject<typeof kafkaSettings>> & { NODE_ENV?: string };

export interface SettingIssue {
  setting: string;
  message: string;
}

function saslIssues(s: KafkaSettings): SettingIssue[] {
  const issues: SettingIssue[] = [];
  const hasPassword = s.KAFKA_SASL_PASSWORD !== undefined || s.KAFKA_SASL_PASSWORD_FILE !== undefined;
  if (s.KAFKA_SASL_MECHANISM === undefined) {
    if (s.KAFKA_SASL_USERNAME !== undefined || hasPassword) {
      issues.push({ setting: 'KAFKA_SASL_MECHANISM', message: 'required when a SASL username or password is set' });
    }
    return issues;
  }
  if (s.KAFKA_SASL_USERNAME === undefined) {
    issues.push({ setting: 'KAFKA_SASL_USERNAME', message: `required with KAFKA_SASL_MECHANISM=${s.KAFKA_SASL_MECHANISM}` });
  }
  if (s.KAFKA_SASL_PASSWORD !== undefined && s.KAFKA_SASL_PASSWORD_FILE !== undefined) {
    issues.push({ setting: 'KAFKA_SASL_PASSWORD', message: 'set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both' });
  } else if (!hasPassword) {
    issues.push({ setting: 'KAFKA_SASL_PASSWORD_FILE', message: `required with KAFKA_SASL_MECHANISM=${s.KAFKA_SASL_MECHANISM}` });
  }
  // PLAIN sends the password as is: only inside TLS outside development.
  if (s.NODE_ENV === 'production' && s.KAFKA_SASL_MECHANISM === 'plain' && !s.KAFKA_SSL) {
    issues.push({ setting: 'KAFKA_SSL', message: 'must be true with KAFKA_SASL_MECHANISM=plain in production' });
  }
  return issues;
}

function tlsIssues(s: KafkaSettings): SettingIssue[] {
  const issues: SettingIssue[] = [];
  if (!s.KAFKA_SSL) {
    for (const setting of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const) {
      if (s[setting] !== undefined) issues.push({ setting, message: 'set KAFKA_SSL=true to use it' });
    }
  }
  if ((s.KAFKA_SSL_CERT_FILE === undefined) !== (s.KAFKA_SSL_KEY_FILE === undefined)) {
    const missing = s.KAFKA_SSL_CERT_FILE === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE';
    issues.push({ setting: missing, message: 'client certificate and key go together' });
  }
  return issues;
}

/** Combinations the schema's fields alone cannot refuse. Pure. */
export function kafkaSettingsIssues(settings: KafkaSettings): SettingIssue[] {
  return [...saslIssues(settings), ...tlsIssues(settings)];
}

/** For a deployable schema's superRefine: reports the issues at start-up with the others. */
export function refineKafkaSettings(settings: KafkaSettings, ctx: z.RefinementCtx): void {
  for (const issue of kafkaSettingsIssues(settings)) {
    ctx.addIssue({ code: 'custom', path: [issue.setting], message: issue.message });
  }
}

function readSetting(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new ConfigError(`${setting}: cannot read ${path} (${(cause as Error).message})`, [setting]);
  }
}

function tlsFrom(s: KafkaSettings): boolean | KafkaTls {
  if (!s.KAFKA_SSL) return false;
  const tls: KafkaTls = {};
  if (s.KAFKA_SSL_CA_FILE) tls.ca = readSetting('KAFKA_SSL_CA_FILE', s.KAFKA_SSL_CA_FILE);
  if (s.KAFKA_SSL_CERT_FILE) tls.cert = readSetting('KAFKA_SSL_CERT_FILE', s.KAFKA_SSL_CERT_FILE);
  if (s.KAFKA_SSL_KEY_FILE) tls.key = readSetting('KAFKA_SSL_KEY_FILE', s.KAFKA_SSL_KEY_FILE);
  return Object.keys(tls).length > 0 ? tls : true;
}

function passwordFrom(s: KafkaSettings): string {
  if (s.KAFKA_SASL_PASSWORD !== undefined) return s.KAFKA_SASL_PASSWORD;
  // A Secret mounted as a file usually ends with a newline that is not part of the password.
  return readSetting('KAFKA_SASL_PASSWORD_FILE', s.KAFKA_SASL_PASSWORD_FILE!).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * KafkaBusOptions from parsed settings, or undefined without KAFKA_BROKERS. Reads the TLS and
 * password files. Throws ConfigError naming the setting (exitOnConfigError turns it into exit 78).
 */
export function kafkaOptionsFromConfig(settings: KafkaSettings, logger?: Logger): KafkaBusOptions | undefined {
  if (settings.KAFKA_BROKERS.length === 0) return undefined;
  const issues = kafkaSettingsIssues(settings);
  if (issues.length > 0) {
    const lines = issues.map((issue) => `  ${issue.setting}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`, issues.map((issue) => issue.setting));
  }
  const component = logger?.bindings().component;
  const options: KafkaBusOptions = {
    brokers: settings.KAFKA_BROKERS,
    clientId: settings.KAFKA_CLIENT_ID ?? (typeof component === 'string' ? component : 'gatehouse'),
    ssl: tlsFrom(settings),
  };
  if (settings.KAFKA_SASL_MECHANISM) {
    options.sasl = {
      mechanism: settings.KAFKA_SASL_MECHANISM,
      username: settings.KAFKA_SASL_USERNAME!,
      password: passwordFrom(settings),
    };
  }
  if (settings.KAFKA_COMMIT_INTERVAL_MS !== undefined) options.consumer = { commitIntervalMs: settings.KAFKA_COMMIT_INTERVAL_MS };
  if (logger) options.logger = logger;
  return options;
}

/** The Kafka bus when KAFKA_BROKERS is set, else undefined. */
export function busFromSettings(settings: KafkaSettings, logger: Logger): KafkaBus | undefined {
  const options = kafkaOptionsFromConfig(settings, logger);
  return options && createKafkaBus(options);
}
