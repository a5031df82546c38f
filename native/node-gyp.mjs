// Runs node-gyp for raidfs's native addons (native/fuse-binding.mjs,
// native/addon-binding.mjs): npm's own node-gyp, against the running Node's
// headers, since nothing may be downloaded at install time.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The vendored BLAKE3 sources, which both addons compile (blake3.gypi lists what). */
export const BLAKE3_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'third_party', 'blake3');

/** Every file of BLAKE3_DIR, in a fixed order: part of each addon's sources tag. */
export function blake3Files() {
  return readdirSync(BLAKE3_DIR).sort().map((f) => path.join(BLAKE3_DIR, f));
}

/** Where a build records the tag of the sources it was made from. */
function tagFile(dir) {
  return path.join(dir, 'build', 'raidfs-tag');
}

/** Whether `built` (the .node file) exists and nodeGypRebuild made it in `dir` from the sources `tag` names. */
export function builtFrom(dir, built, tag) {
  return existsSync(built) && existsSync(tagFile(dir)) && readFileSync(tagFile(dir), 'utf8') === tag;
}

/**
 * `node-gyp rebuild --release` in `dir` (the folder with binding.gyp), then records
 * `tag` beside the build (see builtFrom); throws if the build fails.
 */
export function nodeGypRebuild(dir, tag) {
  const gyp = process.env.npm_config_node_gyp
    ?? path.join(path.dirname(require.resolve('npm/package.json', { paths: [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules')] })), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir
    ?? (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
  execFileSync(process.execPath, [gyp, 'rebuild', '--release', '--loglevel=error', ...(nodedir ? [`--nodedir=${nodedir}`] : [])],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(tagFile(dir), tag);
}

/** A short tag naming the exact contents of `files` (by name and bytes), to tell whether a build is of them. */
export function sourcesTag(name, files) {
  const digest = createHash('sha256');
  for (const file of files) digest.update(path.basename(file)).update(readFileSync(file));
  return `${name}-${digest.digest('hex').slice(0, 16)}`;
}
