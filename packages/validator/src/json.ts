/**
 * Strict JSON for security decisions. JSON.parse silently keeps the last of two equal member names,
 * so `{"sub":"alice","sub":"admin"}` means different things to different parsers (RFC 7515 4,
 * RFC 8725 3.x: refuse). JSON.parse checks the grammar (RFC 8259) and builds the value; one pass over
 * the text counts the member names and bounds nesting. In valid JSON every ":" outside a string
 * separates one member's name from its value, and the parsed value keeps one member per distinct
 * name (after unescaping, so "a" and "\u0061" collide): fewer members in the value than in the
 * text means a duplicate name. A scanner of the whole grammar in JavaScript, the first version of
 * this file, cost about twice as much per token or event (packages/events parses three documents
 * per record).
 */
export class JsonDuplicateKeyError extends Error {
  constructor() {
    super('duplicate member name');
    this.name = 'JsonDuplicateKeyError';
  }
}

export class JsonSyntaxError extends Error {
  constructor(message = 'invalid JSON') {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** Tokens and JWKS are flat; deep nesting is only ever an attack on the stack. */
const MAX_DEPTH = 32;

/** Parses `text` as JSON, refusing duplicate member names at any depth. */
export function parseStrictJson(text: string): unknown {
  // Before JSON.parse: absurd nesting is refused without being built (countMembers recurses).
  const named = countNames(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JsonSyntaxError();
  }
  if (countMembers(value) !== named) throw new JsonDuplicateKeyError();
  return value;
}

/** parseStrictJson, then insists on a top-level object (JOSE headers, claim sets, JWKS). */
export function parseStrictJsonObject(text: string): Record<string, unknown> {
  const value = parseStrictJson(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JsonSyntaxError('a JSON object was expected');
  }
  return value as Record<string, unknown>;
}

/**
 * The ":" outside strings (member names, once JSON.parse has accepted the text); refuses nesting
 * deeper than MAX_DEPTH. Garbage in, garbage count out: JSON.parse refuses that text anyway.
 */
function countNames(text: string): number {
  let names = 0;
  let depth = 0;
  const end = text.length;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote; a backslash escapes the character after it.
      for (i++; i < end; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x3a) {
      names++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) throw new JsonSyntaxError('JSON nested too deeply');
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return names;
}

/** Members of every object in a parsed value (own keys: JSON.parse makes "__proto__" one too). */
function countMembers(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let members = 0;
  if (Array.isArray(value)) {
    for (const item of value) members += countMembers(item);
    return members;
  }
  const record = value as Record<string, unknown>;
  const names = Object.keys(record);
  members += names.length;
  for (const name of names) members += countMembers(record[name]);
  return members;
}
