/**
 * The security flags of both ends of node traffic, declared once per side, and their
 * conversion into CURVE settings by reading the key files they name (formats in
 * wire/curve-keys.ts):
 *
 *   controller (`raidfs controller`, `raidfs up`):  --key FILE --authorized-keys FILE [--insecure]
 *   node (`raidfs node`):                           --key FILE --controller-key FILE [--insecure]
 *
 * A side's two key flags come together or not at all, and --insecure (allow plain
 * traffic on a non-loopback endpoint) contradicts them: both are usage errors. A key
 * file that is missing or malformed is a failure naming the flag and the file.
 */
import { CurveKeyPair, KeyFileError, readAuthorizedKeys, readKeyPair, readPublicKey } from '../wire/curve-keys';
import { CurveClientConfig, CurveServerConfig } from '../wire/transport-security';
import { OptionSpec, OptionValues, UsageError } from './options';


const INSECURE: OptionSpec = {
  type: 'boolean',
  help: 'allow unauthenticated, unencrypted node traffic on a non-loopback address (refused by default)',
};

export const controllerCurveSpecs: Record<string, OptionSpec> = {
  key: { type: 'string', help: 'CURVE key pair of the controller (from raidfs keygen): nodes must authenticate, traffic is encrypted' },
  'authorized-keys': { type: 'string', help: 'node public keys allowed to connect, one per line (with --key)' },
  insecure: INSECURE,
};

export const nodeCurveSpecs: Record<string, OptionSpec> = {
  key: { type: 'string', help: 'CURVE key pair of this node (from raidfs keygen; its public key must be in the controller\'s authorized_keys)' },
  'controller-key': { type: 'string', help: 'the controller\'s public key file (controller.pub), with --key' },
  insecure: INSECURE,
};

export function controllerCurveFrom(values: OptionValues): { curve?: CurveServerConfig; insecure: boolean } {
  const files = keyFlags(values, 'authorized-keys');
  if (!files) return { insecure: values.insecure === true };
  const pair = read('--key', () => readKeyPair(files.key));
  return { curve: { ...pair, authorizedKeys: read('--authorized-keys', () => readAuthorizedKeys(files.other)) }, insecure: false };
}

export function nodeCurveFrom(values: OptionValues): { curve?: CurveClientConfig; insecure: boolean } {
  const files = keyFlags(values, 'controller-key');
  if (!files) return { insecure: values.insecure === true };
  const pair: CurveKeyPair = read('--key', () => readKeyPair(files.key));
  return { curve: { ...pair, serverPublicKey: read('--controller-key', () => readPublicKey(files.other)) }, insecure: false };
}

/** The file names of --key and its partner flag, or undefined when neither is given. */
function keyFlags(values: OptionValues, partner: string): { key: string; other: string } | undefined {
  const key = values.key;
  const other = values[partner];
  if (key === undefined && other === undefined) return undefined;
  if (typeof key !== 'string' || typeof other !== 'string') throw new UsageError(`--key and --${partner} go together`);
  if (values.insecure === true) throw new UsageError(`--insecure contradicts --key and --${partner} (CURVE)`);
  return { key, other };
}

function read<T>(flag: string, reader: () => T): T {
  try {
    return reader();
  } catch (err) {
    if (err instanceof KeyFileError) err.message = `${flag}: ${err.message}`;
    throw err;
  }
}
