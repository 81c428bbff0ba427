/**
 * Start-up configuration, validated once per deployable.
 *
 * Every setting is named by its environment variable. An optional JSON file (named by the
 * deployable's file variable, e.g. TOKEN_SERVICE_CONFIG_FILE) may hold the same names; the
 * environment wins over the file so that a Secret or a one-off override needs no file edit.
 * A bad value stops the process with a message that names the setting.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly settings: string[];
  constructor(message: string, settings: string[]) {
    super(message);
    this.name = 'ConfigError';
    this.settings = settings;
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Environment variable naming an optional JSON file with the same settings. */
  fileVariable?: string;
}

export function loadConfig<S extends z.ZodType>(schema: S, options: LoadOptions = {}): z.output<S> {
  const env = options.env ?? process.env;
  const fromFile = options.fileVariable
    ? readConfigFile(env[options.fileVariable], options.fileVariable)
    : {};
  const raw: Record<string, unknown> = { ...fromFile };
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw configErrorFrom(parsed.error);
}

function readConfigFile(path: string | undefined, variable: string): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`${variable}: cannot read ${path} (${(cause as Error).message})`, [variable]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`${variable}: ${path} is not valid JSON`, [variable]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${variable}: ${path} must hold a JSON object of settings`, [variable]);
  }
  // The file holds the same settings as the environment, so values become what the environment
  // would carry: strings, with lists comma-separated.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asSettingString(v)]));
}

function asSettingString(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value;
}

function configErrorFrom(error: z.ZodError): ConfigError {
  const settings: string[] = [];
  const lines = error.issues.map((issue) => {
    const setting = issue.path.length > 0 ? issue.path.map(String).join('.') : '(configuration)';
    settings.push(setting);
    return `  ${setting}: ${issue.message}`;
  });
  return new ConfigError(`Invalid configuration:\n${lines.join('\n')}`, settings);
}

// Reusable field types. Values arrive as strings from the environment, so each coerces.

export const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

export const seconds = (fallback: number, max = 366 * 24 * 3600) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

export const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

export const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const httpUrl = () =>
  z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' }).transform((v) => v.replace(/\/$/, ''));

export const mode = () =>
  z.enum(['development', 'production', 'test'], { message: 'expected development, production or test' });

/** A comma-separated list. */
export const list = (fallback: string[]) =>
  z
    .string()
    .default(fallback.join(','))
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

export const logLevel = () =>
  z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/** Runs main, turning a ConfigError into one clear message and exit code 78 (EX_CONFIG). */
export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  throw error;
}
