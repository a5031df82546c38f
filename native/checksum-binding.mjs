// Builds raidfs's checksum addon (native/checksum/: BLAKE3 for JavaScript) with
// node-gyp into native/checksum/build/. Run by `npm ci` (postinstall) and by
// native/setup.sh; does nothing when the addon built last is made from the current
// sources (a tag of them is kept beside it).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { blake3Files, nodeGypRebuild, sourcesTag } from './node-gyp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, 'checksum');
const built = path.join(dir, 'build', 'Release', 'raidfs_checksum.node');
const stamp = path.join(dir, 'build', 'raidfs-tag');

const tag = sourcesTag('raidfs-checksum', [
  fileURLToPath(import.meta.url),
  ...['checksum.c', 'binding.gyp'].map((f) => path.join(dir, f)),
  ...blake3Files(),
]);
if (existsSync(built) && existsSync(stamp) && readFileSync(stamp, 'utf8') === tag) process.exit(0);

process.stderr.write('raidfs: building the checksum addon (node-gyp)\n');
nodeGypRebuild(dir);
writeFileSync(stamp, tag);
