/**
 * The streaming JSON upload reader (src/rest/json-upload.ts) against JSON.parse: a
 * seeded stream of upload bodies, as encoders might write them (members in any
 * order, whitespace, escapes in keys and in the base64, members to ignore, a byte
 * order mark), half of them then mutated byte by byte, each fed to the reader in
 * random pieces. Whatever JSON.parse and the upload's rules accept (a body that is
 * UTF-8), the reader must return with the same fields and bytes; whatever they
 * refuse, the reader must refuse with a 4xx.
 *
 * The PRNG seed is printed (test name); RAIDFS_FUZZ_SEED=N replays a run.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import { coreErrorOf } from '../src/core/errors';
import { checkName } from '../src/core/paths';
import { HttpError } from '../src/rest/errors';
import { JsonUploadReader } from '../src/rest/json-upload';
import { mediaType } from '../src/rest/media-type';
import { fuzzSeed, Prng } from './helpers/fuzz-frames';

const BODIES = 4_000;
const MAX_BYTES = 200;
const seed = fuzzSeed();

type Outcome = { ok: true; filename: string; contentType: string | null; contents: Buffer } | { ok: false; why: string };

/** What the upload's rules say of `body`, judged on JSON.parse's reading of it. */
function expected(body: Buffer): Outcome {
  // JSON.parse of a lenient decoding would read bytes that are not UTF-8 as U+FFFD: the reader refuses them.
  if (!isUtf8(body)) return { ok: false, why: 'not UTF-8' };
  let fields: unknown;
  try {
    fields = JSON.parse(body.toString('utf8').replace(/^\uFEFF/, '')); // a byte order mark is allowed
  } catch (err) {
    return { ok: false, why: `JSON.parse: ${(err as Error).message}` };
  }
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return { ok: false, why: 'not an object' };
  const { filename, content_type: type, contents_b64: text } = fields as Record<string, unknown>;
  if (typeof filename !== 'string' || filename === '' || typeof text !== 'string') return { ok: false, why: 'a field is missing' };
  try {
    checkName(filename);
  } catch {
    return { ok: false, why: 'bad filename' };
  }
  let contentType: string | null;
  try {
    contentType = mediaType(type, 'content_type');
  } catch {
    return { ok: false, why: 'bad content_type' };
  }
  const contents = Buffer.from(text, 'base64');
  if (contents.toString('base64') !== text) return { ok: false, why: 'not canonical base64' };
  if (contents.length > MAX_BYTES) return { ok: false, why: 'too large' };
  return { ok: true, filename, contentType, contents };
}

/** What the reader makes of `body`, given to it in pieces of the sizes `rng` draws. */
async function read(body: Buffer, rng: Prng): Promise<Outcome> {
  const pieceSize = rng.pick([1, 2, 3, 7, 16, 64, body.length || 1]);
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let i = 0; i < body.length; i += pieceSize) yield body.subarray(i, i + pieceSize);
  }
  const reader = new JsonUploadReader(pieces(), MAX_BYTES);
  try {
    const got: Buffer[] = [];
    for await (const bytes of reader.contents()) got.push(bytes);
    const { filename, contentType } = await reader.finish();
    return { ok: true, filename, contentType, contents: Buffer.concat(got) };
  } catch (err) {
    const status = err instanceof HttpError ? err.status : coreErrorOf(err) ? 400 : 500;
    assert.ok(status >= 400 && status < 500, `a refusal is a 4xx, not ${status}: ${(err as Error).stack}`);
    return { ok: false, why: (err as Error).message };
  }
}

// ---- bodies as encoders might write them --------------------------------------

/** Reads as members of the upload to a scanner that takes an escaped quote for the string's end. */
const TRAP = 'x", "contents_b64": "QUJD", "filename": "trap.txt", "y": "';

const space = (rng: Prng) => rng.pick(['', '', ' ', '\n  ', '\t', '\r\n']);

/** A JSON string literal for `text`, with some characters escaped as encoders may. */
function stringLiteral(text: string, rng: Prng): string {
  let out = '';
  for (const char of JSON.stringify(text).slice(1, -1).match(/\\u[0-9a-f]{4}|\\.|[^]/g) ?? []) {
    if (char.length === 1 && rng.chance(0.05)) out += `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else if (char === '/' && rng.chance(0.5)) out += '\\/';
    else out += char;
  }
  return `"${out}"`;
}

function anyValue(rng: Prng, depth = 0): string {
  switch (rng.int(depth > 2 ? 4 : 6)) {
    case 0: return rng.pick(['true', 'false', 'null']);
    case 1: return rng.pick(['0', '-1.5e3', '42', '3.25']);
    case 2: return stringLiteral(rng.pick(['', 'plain', 'a "quoted" }{ ][ ,:', 'back\\slash', 'contents_b64', 'é ✓', 'line\nbreak', TRAP]), rng);
    case 3: return stringLiteral('x'.repeat(rng.int(40)), rng);
    case 4: return `[${Array.from({ length: rng.int(4) }, () => space(rng) + anyValue(rng, depth + 1) + space(rng)).join(',')}]`;
    default: return `{${Array.from({ length: rng.int(4) }, (_, i) => `${space(rng)}"k${i}"${space(rng)}:${space(rng)}${anyValue(rng, depth + 1)}`).join(',')}}`;
  }
}

/** A key, sometimes with a character escaped (JSON.parse reads it the same). */
function keyLiteral(key: string, rng: Prng): string {
  if (!rng.chance(0.1)) return `"${key}"`;
  const at = rng.int(key.length);
  return `"${key.slice(0, at)}\\u${key.charCodeAt(at).toString(16).padStart(4, '0')}${key.slice(at + 1)}"`;
}

function uploadBody(rng: Prng): Buffer {
  const contents = Buffer.from(Array.from({ length: rng.int(MAX_BYTES + 20) }, () => rng.int(256)));
  const members: Array<[string, string]> = [
    ['filename', stringLiteral(rng.pick(['a.txt', 'photo (1).jpg', 'é✓.bin', '../up', '', 'x'.repeat(300)]), rng)],
    ['contents_b64', stringLiteral(contents.toString('base64') + (rng.chance(0.05) ? rng.pick(['=', 'A', '\n', '==']) : ''), rng)],
  ];
  if (rng.chance(0.6)) members.push(['content_type', rng.chance(0.2) ? 'null' : stringLiteral(rng.pick(['text/plain', 'image/png; q=1', 'bad type']), rng)]);
  for (let i = rng.int(3); i > 0; i--) members.push([`other${i}`, anyValue(rng)]);
  for (let i = members.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [members[i], members[j]] = [members[j], members[i]];
  }
  const text = `${space(rng)}{${members.map(([key, value]) => `${space(rng)}${keyLiteral(key, rng)}${space(rng)}:${space(rng)}${value}${space(rng)}`).join(',')}}${space(rng)}`;
  return Buffer.concat([rng.chance(0.05) ? BYTE_ORDER_MARK : Buffer.alloc(0), Buffer.from(text)]);
}

const BYTE_ORDER_MARK = Buffer.from([0xef, 0xbb, 0xbf]);
const NOISE = Buffer.from('{}[]":,\\ =aZ/+0\n\u00e9');

function mutated(body: Buffer, rng: Prng): Buffer {
  let out = body;
  for (let edits = 1 + rng.int(3); edits > 0; edits--) {
    const at = rng.int(out.length + 1);
    const noise = Buffer.from([NOISE[rng.int(NOISE.length)]]);
    switch (rng.int(3)) {
      case 0: out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]); break;
      case 1: out = Buffer.concat([out.subarray(0, at), noise, out.subarray(at)]); break;
      default: out = Buffer.concat([out.subarray(0, at), noise, out.subarray(at + 1)]); break;
    }
  }
  return out;
}

/** JSON.parse keeps the last of two same keys; the reader refuses a second contents_b64 and checks the first filename early. */
function hasRepeatedKey(body: Buffer): boolean {
  const text = body.toString('utf8');
  return ['filename', 'contents_b64'].some((key) => text.split(`"${key}"`).length > 2);
}

describe(`JSON upload reader against JSON.parse (seed ${seed}; replay with RAIDFS_FUZZ_SEED=${seed})`, () => {
  it(`reads ${BODIES} generated and mutated bodies as JSON.parse and the upload's rules do`, async (t) => {
    const rng = new Prng(seed);
    const tally = { accepted: 0, refused: 0, repeatedKeys: 0 };
    for (let i = 0; i < BODIES; i++) {
      const generated = uploadBody(rng);
      const body = rng.chance(0.5) ? mutated(generated, rng) : generated;
      const want = expected(body);
      const got = await read(body, rng);
      const context = `body ${i} (seed ${seed}): ${JSON.stringify(body.toString('utf8').slice(0, 400))}\nJSON.parse: ${want.ok ? 'accepted' : want.why}\nreader: ${got.ok ? 'accepted' : got.why}`;
      if (want.ok !== got.ok && hasRepeatedKey(body)) {
        tally.repeatedKeys++;
        continue;
      }
      assert.equal(got.ok, want.ok, context);
      if (want.ok && got.ok) {
        assert.equal(got.filename, want.filename, context);
        assert.equal(got.contentType, want.contentType, context);
        assert.ok(got.contents.equals(want.contents), context);
        tally.accepted++;
      } else tally.refused++;
    }
    t.diagnostic(`${tally.accepted} accepted, ${tally.refused} refused, ${tally.repeatedKeys} with a repeated key`);
    assert.ok(tally.accepted > BODIES / 10 && tally.refused > BODIES / 10, `both outcomes exercised: ${JSON.stringify(tally)}`);
  });
});
