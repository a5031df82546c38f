// Builds raidfs's addon (native/addon/: BLAKE3 checksums, freeing buffers at once)
// with node-gyp into native/addon/build/. Run by `npm ci` (postinstall) and by
// native/setup.sh; does nothing when the addon built last is made from the current
// sources (a tag of them is kept beside it).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { blake3Files, builtFrom, nodeGypRebuild, sourcesTag } from './node-gyp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, 'addon');
const built = path.join(dir, 'build', 'Release', 'raidfs_native.node');

const tag = sourcesTag('raidfs-addon', [
  fileURLToPath(import.meta.url),
  ...readdirSync(dir).filter((f) => /\.(c|h|gyp)$/.test(f)).sort().map((f) => path.join(dir, f)),
  ...blake3Files(),
]);
if (builtFrom(dir, built, tag)) process.exit(0);

process.stderr.write('raidfs: building the raidfs addon (node-gyp)\n');
nodeGypRebuild(dir, tag);
