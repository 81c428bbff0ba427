// The strict JSON scanner: agrees with JSON.parse on every value JSON.parse accepts, except that it
// refuses duplicate member names (at any depth, after unescaping) and absurd nesting.
import t from 'tap';
import {
  JsonDuplicateKeyError,
  JsonSyntaxError,
  parseStrictJson,
  parseStrictJsonObject,
} from '../src/index.ts';

t.test('parses what JSON.parse parses, to the same value', async (t) => {
  const samples = [
    '{}',
    '[]',
    ' { "a" : 1 , "b" : [ true , false , null ] } ',
    '{"n":-0.5e+10,"m":0,"o":1E3,"p":-12.25}',
    '{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00","t":"é😀"}',
    '{"a":{"b":{"c":[{"d":1},{"d":2}]}}}',
    '"just a string"',
    '42',
    '{"__proto__":{"admin":true}}',
    '\n\t\r{"x":1}\n',
  ];
  for (const text of samples) t.same(parseStrictJson(text), JSON.parse(text), text);
});

t.test('refuses what JSON.parse refuses', async (t) => {
  const bad = [
    '',
    '{',
    '{"a":1,}',
    '[1,]',
    '{"a" 1}',
    "{'a':1}",
    '{"a":01}',
    '{"a":1.}',
    '{"a":.5}',
    '{"a":+1}',
    '{"a":tru}',
    '{"a":"\\x41"}',
    '{"a":"\\u12G4"}',
    '{"a":"line\nbreak"}',
    '{"a":1} {}',
    '{a:1}',
    '\u00a0{}',
    '\ufeff{}',
    '{"a":NaN}',
  ];
  for (const text of bad) {
    t.throws(() => JSON.parse(text), JSON.stringify(text));
    t.throws(() => parseStrictJson(text), JsonSyntaxError, JSON.stringify(text));
  }
});

t.test('refuses duplicate member names', async (t) => {
  const duplicates = [
    '{"a":1,"a":2}',
    '{"a":1,"b":2,"a":1}',
    '{"sub":"x","\\u0073ub":"y"}',
    '{"x":{"a":1,"a":1}}',
    '{"x":[{"ok":1},{"a":1,"a":2}]}',
    '{"":1,"":2}',
  ];
  for (const text of duplicates) t.throws(() => parseStrictJson(text), JsonDuplicateKeyError, text);
  t.same(parseStrictJson('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}'), {
    a: { a: { a: 1 } },
    b: [{ a: 1 }, { a: 2 }],
  });
  t.same(parseStrictJson('{"a":1,"A":2}'), { a: 1, A: 2 }, 'member names are case-sensitive');
});

t.test('counts member names, not colons inside strings', async (t) => {
  // Names are counted by the ":" outside strings: quotes, backslashes and colons inside names and
  // values must neither hide a duplicate nor make one up.
  const fine = [
    '{"a:b":"c:d","e":"::"}',
    '{"q\\"":1,"r\\\\":"\\\\:","s":"\\":"}',
    '[":",{"k":":"},"{\\"x\\":1,\\"x\\":2}"]',
    '{"t":"\\u003a","u":["a:1","b:2"]}',
  ];
  for (const text of fine) t.same(parseStrictJson(text), JSON.parse(text), text);
  const duplicates = [
    '{"a":"x:y","a":1}',
    '{"a\\"":1,"a\\u0022":2}',
    '{"b\\\\":":","b\\\\":1}',
    '{"__proto__":1,"__proto__":2}',
    '[{"k":[{"k":1,"k":":"}]}]',
  ];
  for (const text of duplicates) t.throws(() => parseStrictJson(text), JsonDuplicateKeyError, text);
});

t.test('bounds nesting depth', async (t) => {
  t.ok(parseStrictJson(`${'['.repeat(32)}${']'.repeat(32)}`), '32 levels are fine');
  t.throws(() => parseStrictJson(`${'['.repeat(5000)}${']'.repeat(5000)}`), JsonSyntaxError, 'deep arrays');
  t.throws(
    () => parseStrictJson(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`),
    JsonSyntaxError,
    'deep objects',
  );
});

t.test('parseStrictJsonObject insists on an object', async (t) => {
  t.same(parseStrictJsonObject('{"a":1}'), { a: 1 });
  for (const text of ['[]', '"s"', '1', 'null'])
    t.throws(() => parseStrictJsonObject(text), JsonSyntaxError, text);
});

t.test('agrees with JSON.parse on generated and mutated JSON', async (t) => {
  // Deterministic: random valid documents, half of them with one character inserted, deleted or
  // replaced. Keys are fixed-width ("k000") and mutation characters contain no digit nor "k", so a
  // mutation can never create a duplicate: acceptance must match JSON.parse exactly.
  // mulberry32: a tiny PRNG whose low bits are usable (a plain LCG's are not).
  let seed = 7;
  const random = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  let key = 0;
  const scalars = ['1', '-0.5', '2e-3', 'true', 'false', 'null', '"s"', '"\\u0041\\n"', '""'];
  const value = (depth: number): string => {
    const pick = depth > 3 ? 2 : random(4);
    if (pick === 0) {
      const members = Array.from(
        { length: random(4) },
        () => `"k${String(key++ % 1000).padStart(3, '0')}":${value(depth + 1)}`,
      );
      return `{${members.join(',')}}`;
    }
    if (pick === 1) return `[${Array.from({ length: random(4) }, () => value(depth + 1)).join(',')}]`;
    return scalars[random(scalars.length)] as string;
  };
  const noise = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '.', '-', 'e', 'x', '\n'];
  let disagreements = 0;
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 5000; i++) {
    key = 0;
    let text = value(0);
    if (random(2) === 0) {
      const at = random(text.length + 1);
      const op = random(3);
      const char = noise[random(noise.length)] as string;
      text = text.slice(0, at) + (op === 1 ? '' : char) + text.slice(op === 0 ? at : at + 1);
    }
    let native = true;
    try {
      JSON.parse(text);
    } catch {
      native = false;
    }
    let strict = true;
    try {
      parseStrictJson(text);
    } catch {
      strict = false;
    }
    if (native) accepted++;
    else rejected++;
    if (native !== strict) {
      disagreements++;
      t.fail(`disagreement on ${JSON.stringify(text)}: JSON.parse ${native}, strict ${strict}`);
    }
  }
  t.equal(disagreements, 0);
  t.ok(
    accepted > 1000 && rejected > 1000,
    `both outcomes exercised (${accepted} valid, ${rejected} invalid)`,
  );
});
