/**
 * How the storage nodes that `raidfs up` starts itself meet the controller's
 * security settings, so they can always register:
 *
 * - with CURVE (--key/--authorized-keys), one fresh node key pair is made at every
 *   start, written to DATA/local-node-keys/ (node.key, mode 0600, and the
 *   controller's public key as controller.pub; the directory is 0700 and replaced
 *   each time), and its public key is authorized in memory only, next to the keys
 *   of the authorized_keys file, which is never modified;
 * - with --insecure, the local nodes get --insecure too (the user already allowed
 *   plain traffic on that endpoint);
 * - otherwise they need nothing.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { makeDirectory } from '../common/directory-problems';
import { ControllerOptions } from '../core/controller';
import { newKeyPair, writeKeyPair, writePublicKey } from '../wire/curve-keys';

export function secureLocalNodes(options: ControllerOptions, dataDir: string): { controller: ControllerOptions; nodeArgs: string[] } {
  if (!options.curve) return { controller: options, nodeArgs: options.insecure ? ['--insecure'] : [] };
  const dir = path.join(dataDir, 'local-node-keys');
  rmSync(dir, { recursive: true, force: true });
  makeDirectory(dir, 'directory of the local nodes\' keys', 0o700);
  const pair = newKeyPair();
  writeKeyPair(path.join(dir, 'node.key'), pair);
  writePublicKey(path.join(dir, 'controller.pub'), options.curve.publicKey);
  return {
    controller: { ...options, curve: { ...options.curve, authorizedKeys: [...options.curve.authorizedKeys, pair.publicKey] } },
    nodeArgs: ['--key', path.join(dir, 'node.key'), '--controller-key', path.join(dir, 'controller.pub')],
  };
}
