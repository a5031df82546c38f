// Builds fuse-native's C binding from source with two fixes, so that `cp -a`,
// `rsync -a` and `touch` keep the times they set. Run by `npm ci` (postinstall).
//
// fuse-native 2.2.6 (unmaintained since 2020) passes utimens' atime where the mtime
// belongs, so every mtime a program sets would be lost; and it turns UTIME_NOW and
// UTIME_OMIT into meaningless millisecond counts. The fix:
//   - the 5th/6th utimens arguments carry the mtime;
//   - UTIME_NOW becomes the current time, UTIME_OMIT becomes 2^64-1 ("leave as is"),
//     which src/fuse/ treats as "do not change".
// The patched source is compiled with node-gyp into node_modules/fuse-native/build/,
// which node-gyp-build loads in preference to the shipped prebuilt binary. libfuse's
// headers come from the fuse-shared-library package, so no -dev package is needed.
// Idempotent: does nothing when the patched binding is already built.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const dir = path.dirname(require.resolve('fuse-native/package.json'));
const source = path.join(dir, 'fuse-native.c');
const built = path.join(dir, 'build', 'Release', 'fuse.node');
const MARK = '/* raidfs: utimens fixed */';

let code = readFileSync(source, 'utf8');
if (!code.includes(MARK)) {
  const fixes = [
    ['  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)', '  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)'],
    ['static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n',
      'static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n' +
      '  if (ts->tv_nsec == UTIME_OMIT) return UINT64_MAX;\n' +
      '  if (ts->tv_nsec == UTIME_NOW) {\n' +
      '    struct timespec now;\n' +
      '    clock_gettime(CLOCK_REALTIME, &now);\n' +
      '    return (now.tv_sec * 1000) + (now.tv_nsec / 1000000);\n' +
      '  }\n'],
  ];
  for (const [from, to] of fixes) {
    if (!code.includes(from)) throw new Error(`fuse-native.c changed upstream; cannot apply fix near: ${from.trim()}`);
    code = code.replace(from, to);
  }
  code = `${MARK}\n#include <stdint.h>\n#include <time.h>\n#include <sys/stat.h>\n${code}`;
  writeFileSync(source, code);
}
if (existsSync(built) && readFileSync(built).includes(Buffer.from('raidfs-utimens-fixed'))) process.exit(0);
if (!code.includes('raidfs-utimens-fixed')) {
  writeFileSync(source, code.replace(MARK, `${MARK}\nstatic const char raidfs_build_tag[] __attribute__((used)) = "raidfs-utimens-fixed";`));
}
const gyp = process.env.npm_config_node_gyp
  ?? path.join(path.dirname(require.resolve('npm/package.json', { paths: [path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules')] })), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
// Build against the running Node's own headers: nothing may be downloaded here.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir
  ?? (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
process.stderr.write('raidfs: building the patched fuse-native binding (node-gyp)\n');
execFileSync(process.execPath, [gyp, 'rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])],
  { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
