/**
 * `raidfs keygen --out DIR [--nodes N]`: makes the CURVE keys for authenticated,
 * encrypted node traffic (file formats: wire/curve-keys.ts):
 *
 *   DIR/controller.key, DIR/controller.pub    the controller's key pair and public key
 *   DIR/node-K.key, DIR/node-K.pub            one pair per node, K = 1..N
 *   DIR/authorized_keys                       the N node public keys, labelled node-K
 *
 * Invariant: it never overwrites anything. If any of these files exists, it writes
 * none of them and fails (exit 1) naming the ones in the way. Secret key files are
 * mode 0600 and DIR, if created here, 0700.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { makeDirectory } from '../common/directory-problems';
import { newKeyPair, writeAuthorizedKeys, writeKeyPair, writePublicKey } from '../wire/curve-keys';
import { CommandSpec, parseCommand, parseCount, UsageError } from './options';

export const keygenCommand: CommandSpec = {
  name: 'keygen',
  usage: 'raidfs keygen --out DIR [--nodes N]',
  summary: 'Make CURVE keys (controller, N nodes, authorized_keys) so node traffic is authenticated and encrypted.',
  options: {
    out: { type: 'string', help: 'directory for the key files (created if missing)' },
    nodes: { type: 'string', help: 'node key pairs to make', default: '1' },
  },
};

export async function runKeygen(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(keygenCommand, argv);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (typeof values.out !== 'string') throw new UsageError('--out DIR is required');
  const dir = values.out;
  const nodes = Array.from({ length: parseCount(values.nodes as string, '--nodes') }, (_, i) => `node-${i + 1}`);
  const at = (name: string) => path.join(dir, name);
  const names = ['controller.key', 'controller.pub', ...nodes.flatMap((n) => [`${n}.key`, `${n}.pub`]), 'authorized_keys'];
  const existing = names.filter((name) => existsSync(at(name)));
  if (existing.length > 0) {
    throw new Error(`${existing.map(at).join(', ')} already exist${existing.length === 1 ? 's' : ''}; not overwriting any key file (remove them or choose another --out)`);
  }
  makeDirectory(dir, 'key directory', 0o700);

  const controller = newKeyPair();
  writeKeyPair(at('controller.key'), controller);
  writePublicKey(at('controller.pub'), controller.publicKey);
  const nodeKeys = nodes.map((label) => ({ label, pair: newKeyPair() }));
  for (const { label, pair } of nodeKeys) {
    writeKeyPair(at(`${label}.key`), pair);
    writePublicKey(at(`${label}.pub`), pair.publicKey);
  }
  writeAuthorizedKeys(at('authorized_keys'), nodeKeys.map(({ label, pair }) => ({ key: pair.publicKey, label })), [
    'raidfs authorized_keys: the storage nodes this controller admits (raidfs controller --authorized-keys).',
    'One CURVE public key (40 Z85 characters) per line, optionally followed by a label; # starts a comment line.',
  ]);

  const first = nodes[0];
  const nodeFiles = `${first}.key/.pub${nodes.length > 1 ? ` ... ${nodes.at(-1)}.key/.pub` : ''}`;
  process.stdout.write([
    `wrote CURVE keys to ${dir}:`,
    '  controller.key   the controller\'s key pair (secret: keep it on the controller host)',
    '  controller.pub   the controller\'s public key (copy it to every node host)',
    `  ${nodeFiles}: one key pair per node (the .key is secret: copy it to that node's host only)`,
    '  authorized_keys  the node public keys the controller admits',
    'Run:',
    `  raidfs controller --listen tcp://0.0.0.0:5557 --key ${at('controller.key')} --authorized-keys ${at('authorized_keys')}`,
    `  raidfs node --data DIR --controller tcp://CONTROLLER:5557 --key ${at(`${first}.key`)} --controller-key ${at('controller.pub')}`,
    '',
  ].join('\n'));
}
