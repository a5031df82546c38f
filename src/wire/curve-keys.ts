/**
 * The CURVE key files, the one place that reads and writes them.
 *
 *   NAME.key         a key pair, JSON: {"publicKey": "<z85>", "secretKey": "<z85>"};
 *                    written with mode 0600, it is the secret a peer proves itself with
 *   NAME.pub         a public key alone: one line of 40 Z85 characters
 *   authorized_keys  the node public keys a controller accepts: one key per line,
 *                    optionally followed by whitespace and a label (e.g. the node's
 *                    name); blank lines and other lines starting with '#' are ignored
 *
 * Keys are Z85 text of 32-byte Curve25519 keys, as zeromq's curveKeyPair() makes them.
 *
 * Invariants: whatever a reader returns is a well-formed key (40 characters of valid
 * Z85), and a key pair's public key is the one its secret key implies; anything else
 * is a KeyFileError whose message is one line naming the file (and line) at fault.
 * Writers never replace an existing file.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { curveKeyPair } from 'zeromq';
import { z85Decode, z85Encode } from './z85';

export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/** A key file that is missing, unreadable or malformed. */
export class KeyFileError extends Error {}

const KEY_CHARS = 40;
/** DER header of a PKCS#8 X25519 private key; the 32 key bytes follow it. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export function newKeyPair(): CurveKeyPair {
  return curveKeyPair();
}

/** Why `key` is not a CURVE key in Z85, or undefined if it is one. */
function keyProblem(key: string): string | undefined {
  if (key.length !== KEY_CHARS) return `a key is ${KEY_CHARS} Z85 characters, this is ${key.length}`;
  if (!z85Decode(key)) return 'not valid Z85 text';
  return undefined;
}

/** The 32 key bytes of a well-formed Z85 key (see keyProblem). */
export function keyBytes(key: string): Buffer {
  const bytes = key.length === KEY_CHARS ? z85Decode(key) : undefined;
  if (!bytes) throw new KeyFileError(`not a CURVE key: ${keyProblem(key)}`);
  return bytes;
}

/** The Z85 text of 32 key bytes (e.g. a client key from a ZAP request). */
export function keyText(bytes: Buffer): string {
  return z85Encode(bytes);
}

export function readKeyPair(file: string): CurveKeyPair {
  const text = readText(file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeyFileError(`${file}: not a key pair file (expected JSON {"publicKey": ..., "secretKey": ...}, as raidfs keygen writes)`);
  }
  const { publicKey, secretKey } = (parsed ?? {}) as Record<string, unknown>;
  for (const [name, value] of [['publicKey', publicKey], ['secretKey', secretKey]] as const) {
    if (typeof value !== 'string') throw new KeyFileError(`${file}: "${name}" is missing or not a string`);
    const problem = keyProblem(value);
    if (problem) throw new KeyFileError(`${file}: "${name}": ${problem}`);
  }
  if (publicKeyOf(secretKey as string) !== publicKey) {
    throw new KeyFileError(`${file}: "publicKey" does not belong to "secretKey"`);
  }
  return { publicKey: publicKey as string, secretKey: secretKey as string };
}

export function readPublicKey(file: string): string {
  const key = readText(file).trim();
  const problem = keyProblem(key);
  if (problem === undefined) return key;
  if (isJsonObject(key)) throw new KeyFileError(`${file}: this is a key pair file (with a secret key); give the public key file (.pub)`);
  throw new KeyFileError(`${file}: ${problem}`);
}

/** Whether `text` is JSON of an object, as a key pair file is ('{' alone says nothing: it is a Z85 character). */
function isJsonObject(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null;
  } catch {
    return false;
  }
}

/** The keys in an authorized_keys file, in file order (at least one). */
export function readAuthorizedKeys(file: string): string[] {
  const keys: string[] = [];
  readText(file).split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const first = line.split(/\s+/)[0];
    if (line === '') return;
    if (keyProblem(first) === undefined) keys.push(first);
    else if (!line.startsWith('#')) throw new KeyFileError(`${file}:${index + 1}: not a public key: ${keyProblem(first)}`);
  });
  if (keys.length === 0) throw new KeyFileError(`${file}: no keys (one node public key per line)`);
  return keys;
}

/** Writes a key pair file, readable by its owner only; fails if `file` exists. */
export function writeKeyPair(file: string, pair: CurveKeyPair): void {
  writeNew(file, `${JSON.stringify({ publicKey: pair.publicKey, secretKey: pair.secretKey })}\n`, 0o600);
}

export function writePublicKey(file: string, key: string): void {
  writeNew(file, `${key}\n`, 0o644);
}

/** Writes an authorized_keys file with one labelled line per key after a comment header. */
export function writeAuthorizedKeys(file: string, entries: Array<{ key: string; label: string }>, header: string[]): void {
  const lines = [...header.map((h) => `# ${h}`), ...entries.map((e) => `${e.key} ${e.label}`)];
  writeNew(file, `${lines.join('\n')}\n`, 0o644);
}

/** The public key implied by a secret key (Curve25519 / X25519 base point multiplication). */
function publicKeyOf(secretKey: string): string {
  const der = Buffer.concat([X25519_PKCS8_PREFIX, keyBytes(secretKey)]);
  const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  return z85Encode(spki.subarray(spki.length - 32));
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new KeyFileError(`cannot read key file ${file}: ${why}`);
  }
}

function writeNew(file: string, text: string, mode: number): void {
  try {
    writeFileSync(file, text, { flag: 'wx', mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(`${file} already exists; not overwriting it`);
    throw new KeyFileError(`cannot write ${file}: ${(err as Error).message}`);
  }
}
