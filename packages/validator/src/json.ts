/**
 * Strict JSON for security decisions. JSON.parse silently keeps the last of two equal member names,
 * so `{"sub":"alice","sub":"admin"}` means different things to different parsers (RFC 7515 4,
 * RFC 8725 3.x: refuse). This scanner walks the full JSON grammar (RFC 8259) once, compares member
 * names after unescaping (so "a" and "\u0061" collide), bounds nesting, and only then lets JSON.parse
 * build the value: the grammar is checked here, the value is built by the platform's parser.
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
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX = /^[0-9a-fA-F]{4}$/;
const SIMPLE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/** Parses `text` as JSON, refusing duplicate member names at any depth. */
export function parseStrictJson(text: string): unknown {
  const scanner = new Scanner(text);
  scanner.value(0);
  scanner.whitespace();
  if (!scanner.done()) throw new JsonSyntaxError('unexpected data after the JSON value');
  try {
    return JSON.parse(text);
  } catch {
    // Unreachable when the scanner is right; kept so a scanner gap can never let bad JSON through.
    throw new JsonSyntaxError();
  }
}

/** parseStrictJson, then insists on a top-level object (JOSE headers, claim sets, JWKS). */
export function parseStrictJsonObject(text: string): Record<string, unknown> {
  const value = parseStrictJson(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JsonSyntaxError('a JSON object was expected');
  }
  return value as Record<string, unknown>;
}

class Scanner {
  private pos = 0;
  private readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  done(): boolean {
    return this.pos >= this.text.length;
  }

  whitespace(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  value(depth: number): void {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError('JSON nested too deeply');
    this.whitespace();
    const c = this.text[this.pos];
    if (c === '{') this.object(depth);
    else if (c === '[') this.array(depth);
    else if (c === '"') this.string(false);
    else if (c === 't') this.literal('true');
    else if (c === 'f') this.literal('false');
    else if (c === 'n') this.literal('null');
    else this.number();
  }

  private object(depth: number): void {
    this.pos++; // {
    const names = new Set<string>();
    this.whitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.whitespace();
      if (this.text[this.pos] !== '"') throw new JsonSyntaxError('a member name was expected');
      const name = this.string(true);
      if (names.has(name)) throw new JsonDuplicateKeyError();
      names.add(name);
      this.whitespace();
      if (this.text[this.pos] !== ':') throw new JsonSyntaxError('":" was expected');
      this.pos++;
      this.value(depth + 1);
      this.whitespace();
      const next = this.text[this.pos++];
      if (next === '}') return;
      if (next !== ',') throw new JsonSyntaxError('"," or "}" was expected');
    }
  }

  private array(depth: number): void {
    this.pos++; // [
    this.whitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      this.whitespace();
      const next = this.text[this.pos++];
      if (next === ']') return;
      if (next !== ',') throw new JsonSyntaxError('"," or "]" was expected');
    }
  }

  /** Scans a string literal; returns its unescaped value when asked (member names are compared). */
  private string(decode: boolean): string {
    const { text } = this;
    const start = this.pos++;
    for (;;) {
      if (this.pos >= text.length) throw new JsonSyntaxError('unterminated string');
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) break; // "
      if (c < 0x20) throw new JsonSyntaxError('control character in string');
      if (c === 0x5c) {
        const escaped = text[this.pos + 1];
        if (escaped === 'u') {
          if (!HEX.test(text.slice(this.pos + 2, this.pos + 6))) throw new JsonSyntaxError('bad \\u escape');
          this.pos += 6;
        } else if (escaped !== undefined && SIMPLE_ESCAPES.has(escaped)) {
          this.pos += 2;
        } else {
          throw new JsonSyntaxError('bad escape');
        }
      } else {
        this.pos++;
      }
    }
    this.pos++; // closing "
    if (!decode) return '';
    // The literal is grammatical by now; the platform unescapes it exactly as it will in the value.
    return JSON.parse(text.slice(start, this.pos)) as string;
  }

  private literal(word: string): void {
    if (!this.text.startsWith(word, this.pos)) throw new JsonSyntaxError('unexpected token');
    this.pos += word.length;
  }

  private number(): void {
    NUMBER.lastIndex = this.pos;
    if (!NUMBER.test(this.text)) throw new JsonSyntaxError('unexpected token');
    this.pos = NUMBER.lastIndex;
  }
}
