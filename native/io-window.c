/*
 * raidfs: sequential writes of a large file copied into its stripe buffer, and reads
 * of a part JS has fetched copied out of it, on the FUSE thread, without a round trip
 * to JavaScript.
 *
 * A `cp` of a large file is 8192 WRITE requests of 128 KiB per GiB. Handed to JS, each
 * wakes the event loop and waits for it, and the event loop is also what sends the
 * stripes to the nodes: the writer stalls whenever it is busy. Instead, JS lends the
 * binding the buffer of the stripe being filled (a "window": which mount and file
 * handle, the buffer, the file offset its first byte stands for) and the FUSE thread
 * copies each write that continues the file and fits into it, and answers at once.
 * A write that does not (the window is full, the writer jumped, no window) goes to JS
 * as before; JS takes the window back, hands the stripe on and lends the next one.
 * The window also hashes what it is given (BLAKE3, the chunks' checksum: see
 * src/wire/checksum.ts), as the copy is made, so the stripe needs no hashing pass of
 * its own.
 *
 * Reading is the mirror image: once JS has fetched and checked a part for a read, it
 * lends the part to the file handle as a read window, and the reads that fall inside
 * it are copied from it on the FUSE thread until the reader moves on to another part.
 *
 * native/fuse-binding.mjs copies this file beside fuse-native.c, includes it after
 * readdir-attr-cache.c, and makes the write and read handlers try raidfs_window_write()
 * and raidfs_window_read() first.
 *
 * Invariants:
 * - A write window's bytes are exactly the file's bytes from its offset on, in order:
 *   the FUSE thread copies a write only if it starts where the last one ended and fits
 *   whole; JS appends only what it has checked continues the file.
 * - A read window holds bytes of the version the handle reads (JS takes it back before
 *   the handle changes the file); a read is answered from it only if it lies inside.
 *   A read that reaches past the window goes to JS, even at the file's end: a newer
 *   version of the file may have been committed since (JS decides, see file-ops.ts).
 * - At most RAIDFS_READ_WINDOWS read windows are lent at once, so the parts they keep
 *   alive stay few whatever the number of open files.
 * - The lent buffer stays alive while lent (the window holds a reference to it), and
 *   the binding never touches it once JS has taken the window back.
 * - One mutex guards the table, the copies and the hashes, so a window is never
 *   taken back in the middle of a copy.
 * - A write copied here changes the file's size, so it bumps the readdir attribute
 *   cache's generation like any write.
 */
#include "blake3.h"

#define RAIDFS_WINDOWS 256
#define RAIDFS_READ_WINDOWS 16
/* Copied and then hashed in pieces this small, while each is still in the CPU's cache. */
#define RAIDFS_WINDOW_PIECE (32 * 1024)

typedef struct {
  const void *mount; /* NULL: a free slot */
  uint64_t fh;
  bool reading;
  uint8_t *data;
  size_t capacity;
  size_t filled; /* a read window is full from the start */
  uint64_t file_offset; /* of data[0] */
  blake3_hasher *hash; /* a write window's BLAKE3 of data[0, filled); NULL: not hashing */
  napi_ref buffer;
  /* Requests the FUSE thread answered itself, and their bytes, for the mount's metrics. */
  uint32_t fast_ops;
  size_t fast_bytes;
} raidfs_window_t;

static pthread_mutex_t raidfs_window_lock = PTHREAD_MUTEX_INITIALIZER;
static raidfs_window_t raidfs_windows[RAIDFS_WINDOWS];
/* Slots in use; changed under the lock, read without it by the FUSE thread, so that a
 * request while no window is lent (small files, the benchmark's discard mount) costs
 * neither the lock nor the scan. */
static int raidfs_windows_lent = 0;

/* Whether any window may be lent (a hint: a window lent just now may be missed, and is used from the next request). */
static int raidfs_window_any (void) {
  return __atomic_load_n(&raidfs_windows_lent, __ATOMIC_ACQUIRE) > 0;
}

/* The read or write window of mount/fh, or NULL. Caller holds the lock. */
static raidfs_window_t *raidfs_window_find (const void *mount, uint64_t fh, bool reading) {
  for (int i = 0; i < RAIDFS_WINDOWS; i++) {
    raidfs_window_t *w = &raidfs_windows[i];
    if (w->mount == mount && w->mount != NULL && w->fh == fh && w->reading == reading) return w;
  }
  return NULL;
}

/* A free slot, or NULL; for a read window only while fewer than RAIDFS_READ_WINDOWS are lent. Caller holds the lock. */
static raidfs_window_t *raidfs_window_free_slot (bool reading) {
  raidfs_window_t *free_slot = NULL;
  int lent_for_reading = 0;
  for (int i = 0; i < RAIDFS_WINDOWS; i++) {
    raidfs_window_t *w = &raidfs_windows[i];
    if (w->mount == NULL) {
      if (free_slot == NULL) free_slot = w;
    } else if (w->reading) {
      lent_for_reading++;
    }
  }
  return reading && lent_for_reading >= RAIDFS_READ_WINDOWS ? NULL : free_slot;
}

/* Copies (and hashes) `len` bytes that continue the window; the caller checked they fit. Caller holds the lock. */
static void raidfs_window_copy (raidfs_window_t *w, const uint8_t *buf, size_t len) {
  for (size_t at = 0; at < len; at += RAIDFS_WINDOW_PIECE) {
    size_t n = len - at < RAIDFS_WINDOW_PIECE ? len - at : RAIDFS_WINDOW_PIECE;
    memcpy(w->data + w->filled + at, buf + at, n);
    if (w->hash != NULL) blake3_hasher_update(w->hash, w->data + w->filled + at, n);
  }
  w->filled += len;
}

/* FUSE thread: copies the write into its file's window and returns 1, or returns 0 (JS handles it). */
static int raidfs_window_write (const void *mount, uint64_t fh, const char *buf, size_t len, off_t offset) {
  if (!raidfs_window_any()) return 0;
  int copied = 0;
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *w = raidfs_window_find(mount, fh, false);
  if (w != NULL && (uint64_t) offset == w->file_offset + w->filled && len <= w->capacity - w->filled) {
    raidfs_window_copy(w, (const uint8_t *) buf, len);
    w->fast_ops++;
    w->fast_bytes += len;
    copied = 1;
  }
  pthread_mutex_unlock(&raidfs_window_lock);
  if (copied) raidfs_attr_changed();
  return copied;
}

/* FUSE thread: answers the read from its file's read window and returns the byte count, or returns -1 (JS handles it). */
static int raidfs_window_read (const void *mount, uint64_t fh, char *buf, size_t len, off_t offset) {
  if (!raidfs_window_any()) return -1;
  int answered = -1;
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *w = raidfs_window_find(mount, fh, true);
  if (w != NULL && (uint64_t) offset >= w->file_offset && (uint64_t) offset < w->file_offset + w->filled) {
    size_t at = (size_t) ((uint64_t) offset - w->file_offset);
    if (len <= w->filled - at) {
      memcpy(buf, w->data + at, len);
      w->fast_ops++;
      w->fast_bytes += len;
      answered = (int) len;
    }
  }
  pthread_mutex_unlock(&raidfs_window_lock);
  return answered;
}

/*
 * Lends JS's buffer argv[2] to file handle argv[1] of the mount whose thread buffer is
 * argv[0], as its read or write window, for the file's bytes from offset argv[3] on;
 * argv[4], for a write window, is `hash`. Answers false if it cannot: the handle has
 * such a window already, or no slot may be taken.
 */
static napi_value raidfs_window_lend (napi_env env, napi_callback_info info, bool reading) {
  NAPI_ARGV(5)
  const void *mount = raidfs_mount_of(env, argv[0]);
  NAPI_ARGV_UINT32(fh, 1)
  NAPI_ARGV_BUFFER(data, 2)
  double offset;
  napi_get_value_double(env, argv[3], &offset);
  bool flag = false;
  if (!reading) napi_get_value_bool(env, argv[4], &flag);
  blake3_hasher *hash = NULL;
  if (flag) {
    hash = malloc(sizeof(blake3_hasher));
    if (hash != NULL) blake3_hasher_init(hash);
  }
  int lent = 0;
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *slot = raidfs_window_free_slot(reading);
  if (mount != NULL && slot != NULL && raidfs_window_find(mount, fh, reading) == NULL &&
      (reading ? data_len > 0 : !flag || hash != NULL)) {
    napi_create_reference(env, argv[2], 1, &slot->buffer);
    slot->mount = mount;
    slot->fh = fh;
    slot->reading = reading;
    slot->data = (uint8_t *) data;
    slot->capacity = data_len;
    slot->filled = reading ? data_len : 0;
    slot->file_offset = (uint64_t) offset;
    slot->hash = hash;
    __atomic_add_fetch(&raidfs_windows_lent, 1, __ATOMIC_RELEASE);
    lent = 1;
  }
  pthread_mutex_unlock(&raidfs_window_lock);
  if (!lent) free(hash);
  napi_value result;
  napi_get_boolean(env, lent, &result);
  return result;
}

/*
 * JS: raidfs_window_open(thread, fh, buffer, offset, hash) lends `buffer` as the
 * handle's write window: writes from file offset `offset` on are copied into it from
 * its start (and hashed if `hash`). If it cannot, JS copies the writes itself.
 */
NAPI_METHOD(raidfs_window_open) {
  return raidfs_window_lend(env, info, false);
}

/*
 * JS: raidfs_window_lend_read(thread, fh, bytes, offset) lends `bytes`, the file's
 * bytes from `offset` on, as the handle's read window.
 */
NAPI_METHOD(raidfs_window_lend_read) {
  return raidfs_window_lend(env, info, true);
}

/*
 * JS: raidfs_window_append(thread, fh, bytes) copies as much of `bytes` as fits into
 * the window (bytes JS has checked continue the file) and returns how many it copied.
 */
NAPI_METHOD(raidfs_window_append) {
  NAPI_ARGV(3)
  const void *mount = raidfs_mount_of(env, argv[0]);
  NAPI_ARGV_UINT32(fh, 1)
  NAPI_ARGV_BUFFER(bytes, 2)
  size_t n = 0;
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *w = raidfs_window_find(mount, fh, false);
  if (w != NULL) {
    n = bytes_len < w->capacity - w->filled ? bytes_len : w->capacity - w->filled;
    raidfs_window_copy(w, (const uint8_t *) bytes, n);
  }
  pthread_mutex_unlock(&raidfs_window_lock);
  NAPI_RETURN_UINT32((uint32_t) n)
}

/* JS: raidfs_window_filled(thread, fh) is how many bytes the window holds (0 without one). */
NAPI_METHOD(raidfs_window_filled) {
  NAPI_ARGV(2)
  const void *mount = raidfs_mount_of(env, argv[0]);
  NAPI_ARGV_UINT32(fh, 1)
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *w = raidfs_window_find(mount, fh, false);
  size_t filled = w != NULL ? w->filled : 0;
  pthread_mutex_unlock(&raidfs_window_lock);
  NAPI_RETURN_UINT32((uint32_t) filled)
}

/*
 * JS: raidfs_window_close(thread, fh, reading, digest) takes the handle's read or write
 * window back and returns [bytes it holds, requests the FUSE thread answered from it,
 * their bytes]; if it was hashing and `digest` is a 32-byte buffer, the BLAKE3 of
 * the bytes it holds is written there. Without such a window it returns [0, 0, 0].
 */
NAPI_METHOD(raidfs_window_close) {
  NAPI_ARGV(4)
  const void *mount = raidfs_mount_of(env, argv[0]);
  NAPI_ARGV_UINT32(fh, 1)
  bool reading = false;
  napi_get_value_bool(env, argv[2], &reading);
  void *digest = NULL;
  size_t digest_len = 0;
  bool is_buffer = false;
  napi_is_buffer(env, argv[3], &is_buffer);
  if (is_buffer) napi_get_buffer_info(env, argv[3], &digest, &digest_len);
  raidfs_window_t taken = { 0 };
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *w = raidfs_window_find(mount, fh, reading);
  if (w != NULL) {
    taken = *w;
    memset(w, 0, sizeof(*w));
    __atomic_sub_fetch(&raidfs_windows_lent, 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&raidfs_window_lock);
  if (taken.hash != NULL && digest != NULL && digest_len == 32) blake3_hasher_finalize(taken.hash, digest, 32);
  free(taken.hash);
  if (taken.buffer != NULL) napi_delete_reference(env, taken.buffer);
  double counts[3] = { (double) taken.filled, (double) taken.fast_ops, (double) taken.fast_bytes };
  napi_value result, n;
  napi_create_array_with_length(env, 3, &result);
  for (uint32_t i = 0; i < 3; i++) {
    napi_create_double(env, counts[i], &n);
    napi_set_element(env, result, i, n);
  }
  return result;
}
