/**
 * Validation of the admin API's create request. Pure: the allowed scopes and the longest lifetime
 * come from configuration, passed in.
 */
import { z } from 'zod';

export const MIN_KEY_LIFETIME_SECONDS = 60;
const MAX_NAME_LENGTH = 100;
const MAX_SCOPES = 50;

export interface CreateKeyRules {
  /** The producer scopes a key may carry (API_KEY_SCOPES). */
  allowedScopes: readonly string[];
  /** Longest lifetime, and the lifetime of a key created without expires_in (API_KEY_MAX_LIFETIME). */
  maxLifetimeSeconds: number;
}

export interface CreateKeyInput {
  name: string;
  scopes: string[];
  expiresIn: number;
}

export type ParsedCreate = { ok: true; input: CreateKeyInput } | { ok: false; problems: string[] };

export function parseCreateKey(body: unknown, rules: CreateKeyRules): ParsedCreate {
  const allowed = new Set(rules.allowedScopes);
  const schema = z.strictObject({
    name: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(MAX_NAME_LENGTH, `at most ${MAX_NAME_LENGTH} characters`)
      // Names are shown in listings and logs: no control characters (newlines, escapes).
      .refine((v) => !/\p{Cc}/u.test(v), 'must not contain control characters'),
    scopes: z
      .array(z.string())
      .min(1, 'at least one scope')
      .max(MAX_SCOPES, `at most ${MAX_SCOPES} scopes`)
      .refine((s) => s.every((scope) => allowed.has(scope)), {
        message: `unknown scope; allowed: ${[...allowed].join(', ')}`,
      }),
    expires_in: z
      .number()
      .int('must be whole seconds')
      .min(MIN_KEY_LIFETIME_SECONDS, `at least ${MIN_KEY_LIFETIME_SECONDS} seconds`)
      .max(rules.maxLifetimeSeconds, `at most ${rules.maxLifetimeSeconds} seconds`)
      .optional(),
  });
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
    };
  }
  const { name, scopes, expires_in: expiresIn } = parsed.data;
  return {
    ok: true,
    input: { name, scopes: [...new Set(scopes)].sort(), expiresIn: expiresIn ?? rules.maxLifetimeSeconds },
  };
}
