// Builds fuse-native's C binding from source with raidfs's changes. Run by `npm ci`
// (postinstall) and by native/setup.sh; does nothing when the binding built last is
// already this one.
//
// 1. utimens, so that `cp -a`, `rsync -a` and `touch` keep the times they set.
//    fuse-native 2.2.6 (unmaintained since 2020) passes utimens' atime where the mtime
//    belongs, so every mtime a program sets would be lost; and it turns UTIME_NOW and
//    UTIME_OMIT into meaningless millisecond counts. The fix: the 5th/6th utimens
//    arguments carry the mtime; UTIME_NOW becomes the current time, UTIME_OMIT becomes
//    -2^63 ("leave as is"), which src/fuse/ treats as "do not change". And the
//    operations set flag_utime_omit_ok: libfuse 2 otherwise drops every utimens that
//    sets one time only (`touch -m`, `touch -a`, tar's futimens with UTIME_OMIT).
//    Times are signed milliseconds both ways (two's complement in the two 32-bit
//    words), so a time before 1970 is kept: it used to be read as unsigned, and a
//    `touch -d 1960-01-01` or a `tar x` of such a file silently kept the time of now.
// 2. getattr answered from readdir's attributes on the FUSE thread, and the fgetattr
//    libfuse makes right after a create from the attributes JS created the file with
//    (native/readdir-attr-cache.c, which says when an answer may be served).
// 3. Sequential writes of a large file copied into its stripe buffer, and reads
//    copied out of a part JS fetched, on the FUSE thread (native/io-window.c, which
//    says when a write or a read is answered there).
// 4. A file handle opened write-only bypasses the kernel's page cache (FOPEN_DIRECT_IO,
//    which libfuse 2 sets from fuse_file_info.direct_io in its open and create replies).
//    Through the page cache, every byte `cp` writes is first copied into a freshly
//    allocated cached page in cp's own system call, and the pages stay cached after the
//    close; direct I/O hands the writer's own pages to the FUSE thread instead. A
//    write-only handle can neither read nor be mapped, so nothing it could see changes,
//    and handles that may read keep the page cache (repeated reads stay in memory).
// 5. JS says, with each open's answer, whether the handle bypasses the page cache too
//    and whether the kernel keeps the pages it has of the file (src/fuse/page-cache.ts
//    decides). libfuse's auto_cache, which kept
//    them while mtime and size looked unchanged, is not used: it let a reader see
//    another version's pages.
// 6. readdir in pages: the operation gets the offset to list from (fuse-native passes
//    none), and the binding passes libfuse the offset JS gives after each name (it
//    passed 0, "the whole listing", so every listing was whole in JS's memory: a
//    directory of a million entries took the controller to 1.2 GB). Without offsets
//    from JS, a listing is whole, as before.
// 7. A path or name that is not UTF-8 is refused with EILSEQ before it reaches JS
//    (native/utf8-names.c): fuse-native turned its invalid bytes into U+FFFD, so two
//    such names were one file, and creating the second replaced the first.
// 8. A file open in a directory that was removed is served by its handle (rmdir
//    removes a directory holding only files libfuse hid as .fuse_hidden* while open,
//    src/fuse/dir-ops.ts). libfuse then finds no path for them; with flag_nullpath_ok
//    it hands their operations (read, write, flush, release, fsync, ftruncate,
//    fgetattr) a NULL path instead of failing them with ENOENT, and JS gets "" and
//    answers from the handle. fuse-native would have passed NULL to
//    napi_create_string_utf8. A readdir of a directory removed while open answers
//    ENOENT here, as libfuse does without the flag.
// 9. A request about a node whose name a rename or unlink took answers ESTALE where
//    libfuse answered ENOENT, so the kernel looks the path up again and retries
//    (native/lost-name-retry.c, which wraps the mount's channel): an open of a file that
//    another program was replacing by rename failed with ENOENT.
// 10. Each operation's caller (uid, gid, pid) for JS (native/caller.c): new files,
//    directories and symlinks belong to who made them, where all belonged to root;
//    and create's open flags, so that a file created with O_APPEND appends; and the
//    node id the request is about (the kernel's inode: whose page cache an open uses).
//    (Comes after 4, which starts create's handler with the direct I/O line.)
// 11. JS can tell the kernel a node's cached attributes are out of date
//    (native/attr-notify.c, through the mount's channel): the set-ID bits a write
//    takes off show at once.
// The C files are copied beside fuse-native.c and hooked into its handlers; its
// binding.gyp gains the vendored BLAKE3 (native/third_party/blake3), with which the
// write windows hash.
//
// The patched source is compiled with node-gyp into node_modules/fuse-native/build/,
// which node-gyp-build loads in preference to the shipped prebuilt binary. libfuse's
// headers come from the fuse-shared-library package, so no -dev package is needed.
// The build records a tag derived from this script and the C files (BLAKE3's
// included), so changing any of them rebuilds it (native/node-gyp.mjs).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BLAKE3_DIR, blake3Files, builtFrom, nodeGypRebuild, sourcesTag } from './node-gyp.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.dirname(require.resolve('fuse-native/package.json'));
const source = path.join(dir, 'fuse-native.c');
const built = path.join(dir, 'build', 'Release', 'fuse.node');
/** raidfs's own C files, each copied beside fuse-native.c as raidfs-<name> and included there. */
const C_FILES = ['readdir-attr-cache.c', 'io-window.c', 'utf8-names.c', 'lost-name-retry.c', 'caller.c', 'attr-notify.c'];

/** Each patch: a marker comment put at the top of the patched file, and text replacements in fuse-native.c. */
const patches = [
  {
    mark: '/* raidfs: utimens fixed */',
    header: '#include <stdint.h>\n#include <time.h>\n#include <sys/stat.h>\n',
    fixes: [
      ['  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)', '  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)'],
      // Without this flag libfuse 2 calls utimens only when both times are set, and
      // drops the rest: `touch -m`, `touch -a` and tar's futimens with UTIME_OMIT.
      ['  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n',
        '  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n  ops.flag_utime_omit_ok = 1;\n'],
      ['static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n',
        'static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n' +
        '  if (ts->tv_nsec == UTIME_OMIT) return (uint64_t) INT64_MIN;\n' +
        '  if (ts->tv_nsec == UTIME_NOW) {\n' +
        '    struct timespec now;\n' +
        '    clock_gettime(CLOCK_REALTIME, &now);\n' +
        '    return (now.tv_sec * 1000) + (now.tv_nsec / 1000000);\n' +
        '  }\n'],
      // The attributes JS answers: a time before 1970 is a negative count of milliseconds.
      ['  uint64_t ms = uint32s_to_uint64(ints);\n  ts->tv_sec = ms / 1000;\n  ts->tv_nsec = (ms % 1000) * 1000000;\n',
        '  int64_t ms = (int64_t) uint32s_to_uint64(ints);\n  int64_t rem = ms % 1000;\n' +
        '  ts->tv_sec = ms / 1000 - (rem < 0);\n  ts->tv_nsec = (rem + (rem < 0 ? 1000 : 0)) * 1000000;\n'],
    ],
  },
  {
    mark: '/* raidfs: readdir attribute cache */',
    header: '',
    fixes: [
      ['  fuse_fill_dir_t readdir_filler;\n',
        '  fuse_fill_dir_t readdir_filler;\n  uint64_t attr_generation; /* raidfs: see readdir-attr-cache.c */\n'],
      ['static fuse_thread_locals_t* get_thread_locals();\n',
        `static fuse_thread_locals_t* get_thread_locals();\n${C_FILES.map((f) => `#include "raidfs-${f}"\n`).join('')}`],
      ['  blk\\\n  uv_async_send(&(l->async));\\\n  uv_sem_wait(&(l->sem));\\\n  return l->res;',
        '  blk\\\n  int raidfs_changes = raidfs_attr_op_starts(l);\\\n  uv_async_send(&(l->async));\\\n' +
        '  uv_sem_wait(&(l->sem));\\\n  if (raidfs_changes) raidfs_attr_op_ends();\\\n  return l->res;'],
      ['FUSE_METHOD(getattr, 1, 1, (const char *path, struct stat *stat), {\n',
        'FUSE_METHOD(getattr, 1, 1, (const char *path, struct stat *stat), {\n' +
        '  if (raidfs_attr_cached(fuse_get_context()->private_data, path, stat)) return 0;\n'],
      ['FUSE_METHOD(fgetattr, 2, 1, (const char *path, struct stat *stat, struct fuse_file_info *info), {\n',
        'FUSE_METHOD(fgetattr, 2, 1, (const char *path, struct stat *stat, struct fuse_file_info *info), {\n' +
        '  if (info != NULL && raidfs_attr_just_created(fuse_get_context()->private_data, info->fh, stat)) return 0;\n'],
      ['      populate_stat(stats_array, &st);\n',
        '      populate_stat(stats_array, &st);\n      raidfs_attr_put(l->fuse, l->path, name, &st, l->attr_generation);\n'],
      ['  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n',
        '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n  NAPI_EXPORT_FUNCTION(raidfs_attr_cache_ttl)\n' +
        '  NAPI_EXPORT_FUNCTION(raidfs_attr_cache_invalidate)\n  NAPI_EXPORT_FUNCTION(raidfs_attr_cache_hits)\n' +
        '  NAPI_EXPORT_FUNCTION(raidfs_attr_cache_created)\n'],
    ],
  },
  {
    mark: '/* raidfs: read and write windows */',
    header: '',
    fixes: [
      ['FUSE_METHOD(write, 6, 2, (const char *path, const char *buf, size_t len, off_t offset, struct fuse_file_info *info), {\n',
        'FUSE_METHOD(write, 6, 2, (const char *path, const char *buf, size_t len, off_t offset, struct fuse_file_info *info), {\n' +
        '  if (raidfs_window_write(fuse_get_context()->private_data, info->fh, buf, len, offset)) return (int) len;\n'],
      ['FUSE_METHOD(read, 6, 2, (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info), {\n',
        'FUSE_METHOD(read, 6, 2, (const char *path, char *buf, size_t len, off_t offset, struct fuse_file_info *info), {\n' +
        '  int raidfs_read = raidfs_window_read(fuse_get_context()->private_data, info->fh, buf, len, offset);\n' +
        '  if (raidfs_read >= 0) return raidfs_read;\n'],
      ['  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n',
        '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n' +
        ['open', 'append', 'filled', 'lend_read', 'close'].map((f) => `  NAPI_EXPORT_FUNCTION(raidfs_window_${f})\n`).join('')],
    ],
  },
  {
    mark: '/* raidfs: write-only handles bypass the page cache */',
    header: '#include <fcntl.h>\n',
    // On the FUSE thread, before open or create goes to JS; libfuse puts the flag in its reply.
    fixes: [
      'FUSE_METHOD(open, 2, 1, (const char *path, struct fuse_file_info *info), {\n',
      'FUSE_METHOD(create, 2, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {\n',
    ].map((start) => [start, `${start}  if (info != NULL && (info->flags & O_ACCMODE) == O_WRONLY) info->direct_io = 1;\n`]),
  },
  {
    mark: '/* raidfs: each open says how its handle uses the page cache */',
    header: '',
    // open's answer carries a third value from JS (src/fuse/binding.ts, _op_open): 1 for
    // direct I/O, 2 to keep the pages the kernel has of the file (0: the open empties them).
    fixes: [
      ['FUSE_METHOD(open, 2, 1, (', 'FUSE_METHOD(open, 2, 2, ('],
      ['  NAPI_ARGV_INT32(fd, 2)\n  if (fd != 0) {\n    l->info->fh = fd;\n  }\n})\n\nFUSE_METHOD(opendir',
        '  NAPI_ARGV_INT32(fd, 2)\n  NAPI_ARGV_UINT32(page_cache, 3)\n  if (fd != 0) {\n    l->info->fh = fd;\n' +
        '    if (page_cache & 1) l->info->direct_io = 1;\n' +
        '    l->info->keep_cache = (page_cache >> 1) & 1;\n  }\n})\n\nFUSE_METHOD(opendir'],
    ],
  },
  {
    mark: '/* raidfs: readdir in pages */',
    header: '',
    fixes: [
      ['FUSE_METHOD(readdir, 1, 2, (', 'FUSE_METHOD(readdir, 3, 3, ('],
      ['  l->readdir_filler = filler;\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n}, {\n',
        '  l->readdir_filler = filler;\n}, {\n  napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH, &(argv[2]));\n' +
        '  FUSE_UINT64_TO_INTS_ARGV(l->offset, 3)\n}, {\n'],
      ['  napi_value raw_stats = argv[3];\n',
        '  napi_value raw_stats = argv[3];\n' +
        '  /* The offset after each name, if JS gave one per name; else 0 (the whole listing). */\n' +
        '  napi_value raw_offsets = argv[4];\n' +
        '  bool offsets_given = false;\n' +
        '  uint32_t offsets_length = 0;\n' +
        '  if (napi_is_array(env, raw_offsets, &offsets_given) != napi_ok || !offsets_given ||\n' +
        '      napi_get_array_length(env, raw_offsets, &offsets_length) != napi_ok || offsets_length != names_length) {\n' +
        '    offsets_length = 0;\n' +
        '  }\n'],
      ['      int err = l->readdir_filler((char *) l->buf, name, NULL, 0);\n',
        '      int err = l->readdir_filler((char *) l->buf, name, NULL, raidfs_readdir_offset(env, raw_offsets, offsets_length, i));\n'],
      ['      int err = l->readdir_filler((char *) l->buf, name, (struct stat *) &st, 0);\n',
        '      int err = l->readdir_filler((char *) l->buf, name, (struct stat *) &st, raidfs_readdir_offset(env, raw_offsets, offsets_length, i));\n'],
      ['static fuse_thread_locals_t* get_thread_locals();\n',
        'static fuse_thread_locals_t* get_thread_locals();\n' +
        '/* The i-th of `length` offsets JS gave with a readdir page, or 0 if it gave none. */\n' +
        'static off_t raidfs_readdir_offset (napi_env env, napi_value offsets, uint32_t length, uint32_t i) {\n' +
        '  napi_value offset;\n  int64_t value = 0;\n' +
        '  if (i >= length || napi_get_element(env, offsets, i, &offset) != napi_ok || napi_get_value_int64(env, offset, &value) != napi_ok) return 0;\n' +
        '  return (off_t) value;\n}\n'],
    ],
  },
  {
    mark: '/* raidfs: names that are not UTF-8 refused */',
    header: '#include <errno.h>\n',
    fixes: [
      ['  l->op_fn = fuse_native_dispatch_##name;\\\n  blk\\\n',
        '  l->op_fn = fuse_native_dispatch_##name;\\\n  raidfs_names_clear(l);\\\n  blk\\\n' +
        '  if (!raidfs_names_valid(l)) return -EILSEQ;\\\n'],
    ],
  },
  {
    mark: '/* raidfs: the caller of each operation */',
    header: '',
    fixes: [
      ['  uint64_t attr_generation; /* raidfs: see readdir-attr-cache.c */\n',
        '  uint64_t attr_generation; /* raidfs: see readdir-attr-cache.c */\n  uint32_t raidfs_caller[5]; /* raidfs: see caller.c */\n'],
      ['FUSE_METHOD(create, 2, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {\n',
        'FUSE_METHOD(create, 2, 1, (const char *path, mode_t mode, struct fuse_file_info *info), {\n  raidfs_caller_note_create(l, info);\n'],
      ['  l->op = op_##name;\\\n', '  l->op = op_##name;\\\n  raidfs_caller_note(l);\\\n'],
      ['    uint32_t op = op_##name;\\\n', '    uint32_t op = op_##name;\\\n    raidfs_caller_enter(l);\\\n'],
      ['  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n', '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n  NAPI_EXPORT_FUNCTION(raidfs_caller)\n'],
    ],
  },
  {
    mark: '/* raidfs: ESTALE for nodes whose name was lost */',
    header: '',
    fixes: [
      ['  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);\n',
        '  struct fuse *fuse = fuse_new(raidfs_lost_name_retry_chan(ch), &args, &ops, sizeof(struct fuse_operations), ft);\n'],
      // fuse_unmount destroys the channel, which takes it out of its session first: the
      // removal after it read freed memory.
      ['  fuse_unmount(ft->mnt, ft->ch);\n  fuse_session_remove_chan(ft->ch);\n', '  raidfs_mount_fd = -1; /* attr-notify.c: the device is closed now */\n  fuse_unmount(ft->mnt, ft->ch);\n'],
      ['  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n', '  NAPI_EXPORT_FUNCTION(fuse_native_unmount)\n  NAPI_EXPORT_FUNCTION(raidfs_forget_attributes)\n'],
    ],
  },
  {
    mark: '/* raidfs: unlinked open files served by their handle */',
    header: '',
    fixes: [
      ['  if (implemented[op_readdir]) ops.readdir = fuse_native_readdir;\n',
        '  if (implemented[op_readdir]) ops.readdir = fuse_native_readdir;\n  ops.flag_nullpath_ok = 1;\n'],
      ['  if (!raidfs_names_valid(l)) return -EILSEQ;\\\n',
        '  if (!raidfs_names_valid(l)) return -EILSEQ;\\\n  if (l->path == NULL) l->path = "";\\\n'],
      ['FUSE_METHOD(readdir, 3, 3, (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info), {\n',
        'FUSE_METHOD(readdir, 3, 3, (const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *info), {\n' +
        '  if (path == NULL) return -ENOENT;\n'],
    ],
  },
];

const cSources = C_FILES.map((f) => readFileSync(path.join(here, f), 'utf8'));
const tag = sourcesTag('raidfs-binding', [
  fileURLToPath(import.meta.url),
  ...C_FILES.map((f) => path.join(here, f)),
  ...blake3Files(),
]);
if (builtFrom(dir, built, tag)) process.exit(0);

// Patched from the file as shipped, kept beside it the first time, so a changed patch applies cleanly.
const pristine = path.join(dir, 'fuse-native.orig.c');
if (!existsSync(pristine)) {
  const shipped = readFileSync(source, 'utf8');
  if (shipped.includes('/* raidfs:')) {
    throw new Error(`${source} was patched by an earlier raidfs: reinstall fuse-native (rm -rf ${dir} && npm ci)`);
  }
  writeFileSync(pristine, shipped);
}
let code = readFileSync(pristine, 'utf8');
for (const { mark, header, fixes } of patches) {
  for (const [from, to] of fixes) {
    if (!code.includes(from)) throw new Error(`fuse-native.c changed upstream; cannot apply fix near: ${from.trim()}`);
    code = code.replace(from, to);
  }
  code = `${mark}\n${header}${code}`;
}
writeFileSync(source, code);
C_FILES.forEach((f, i) => writeFileSync(path.join(dir, `raidfs-${f}`), cSources[i]));

// The binding compiles BLAKE3 too, for the write windows' hashing (io-window.c).
const gypFile = path.join(dir, 'binding.gyp');
const pristineGyp = path.join(dir, 'binding.orig.gyp');
if (!existsSync(pristineGyp)) writeFileSync(pristineGyp, readFileSync(gypFile, 'utf8'));
const targetLine = '"target_name": "fuse",\n';
const shippedGyp = readFileSync(pristineGyp, 'utf8');
if (!shippedGyp.includes(targetLine)) throw new Error(`fuse-native's binding.gyp changed upstream; cannot add BLAKE3 near: ${targetLine.trim()}`);
writeFileSync(gypFile, shippedGyp.replace(targetLine, `${targetLine}    "includes": [${JSON.stringify(path.join(BLAKE3_DIR, 'blake3.gypi'))}],\n`));

process.stderr.write('raidfs: building the patched fuse-native binding (node-gyp)\n');
nodeGypRebuild(dir, tag);
