/*
 * raidfs: sequential writes of a large file copied into its stripe buffer on the FUSE
 * thread, without a round trip to JavaScript.
 *
 * A `cp` of a large file is 8192 WRITE requests of 128 KiB per GiB. Handed to JS, each
 * wakes the event loop and waits for it, and the event loop is also what sends the
 * stripes to the nodes: the writer stalls whenever it is busy. Instead, JS lends the
 * binding the buffer of the stripe being filled (a "window": which mount and file
 * handle, the buffer, the file offset its first byte stands for) and the FUSE thread
 * copies each write that continues the file and fits into it, and answers at once.
 * A write that does not (the window is full, the writer jumped, no window) goes to JS
 * as before; JS takes the window back, hands the stripe on and lends the next one.
 * The window also hashes what it is given (SHA-256, with the OpenSSL that Node
 * carries), as the copy is made, so the stripe needs no hashing pass of its own.
 *
 * native/fuse-binding.mjs copies this file beside fuse-native.c, includes it after
 * readdir-attr-cache.c, and makes the write handler try raidfs_window_write() first.
 *
 * Invariants:
 * - A window's bytes are exactly the file's bytes from its offset on, in order: the
 *   FUSE thread copies a write only if it starts where the last one ended and fits
 *   whole; JS appends only what it has checked continues the file.
 * - The lent buffer stays alive while lent (the window holds a reference to it), and
 *   the binding never touches it once JS has taken the window back.
 * - One mutex guards the table, the copies and the hashes, so a window is never
 *   taken back in the middle of a copy.
 * - A write copied here changes the file's size, so it bumps the readdir attribute
 *   cache's generation like any write.
 */
#include <openssl/evp.h>

#define RAIDFS_WINDOWS 256
/* Copied and then hashed in pieces this small, while each is still in the CPU's cache. */
#define RAIDFS_WINDOW_PIECE (32 * 1024)

typedef struct {
  const void *mount; /* NULL: a free slot */
  uint64_t fh;
  uint8_t *data;
  size_t capacity;
  size_t filled;
  uint64_t next_offset;
  EVP_MD_CTX *hash; /* NULL: not hashing */
  napi_ref buffer;
  /* Writes the FUSE thread answered itself, and their bytes, for the mount's metrics. */
  uint32_t fast_writes;
  size_t fast_bytes;
} raidfs_window_t;

static pthread_mutex_t raidfs_window_lock = PTHREAD_MUTEX_INITIALIZER;
static raidfs_window_t raidfs_windows[RAIDFS_WINDOWS];

/* The window of mount/fh, or NULL. Caller holds the lock. */
static raidfs_window_t *raidfs_window_find (const void *mount, uint64_t fh) {
  for (int i = 0; i < RAIDFS_WINDOWS; i++) {
    raidfs_window_t *w = &raidfs_windows[i];
    if (w->mount == mount && w->mount != NULL && w->fh == fh) return w;
  }
  return NULL;
}

/* Copies (and hashes) `len` bytes that continue the window; the caller checked they fit. Caller holds the lock. */
static void raidfs_window_copy (raidfs_window_t *w, const uint8_t *buf, size_t len) {
  for (size_t at = 0; at < len; at += RAIDFS_WINDOW_PIECE) {
    size_t n = len - at < RAIDFS_WINDOW_PIECE ? len - at : RAIDFS_WINDOW_PIECE;
    memcpy(w->data + w->filled + at, buf + at, n);
    if (w->hash != NULL) EVP_DigestUpdate(w->hash, w->data + w->filled + at, n);
  }
  w->filled += len;
  w->next_offset += len;
}

/* FUSE thread: copies the write into its file's window and returns 1, or returns 0 (JS handles it). */
static int raidfs_window_write (const void *mount, uint64_t fh, const char *buf, size_t len, off_t offset) {
  int copied = 0;
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *w = raidfs_window_find(mount, fh);
  if (w != NULL && (uint64_t) offset == w->next_offset && len <= w->capacity - w->filled) {
    raidfs_window_copy(w, (const uint8_t *) buf, len);
    w->fast_writes++;
    w->fast_bytes += len;
    copied = 1;
  }
  pthread_mutex_unlock(&raidfs_window_lock);
  if (copied) raidfs_attr_changed();
  return copied;
}

/* The mount a JS call names: the data of fuse-native's thread buffer (what libfuse's private_data points to). */
static const void *raidfs_window_mount (napi_env env, napi_value thread) {
  void *data = NULL;
  size_t len = 0;
  if (napi_get_buffer_info(env, thread, &data, &len) != napi_ok || len == 0) return NULL;
  return data;
}

/*
 * JS: raidfs_window_open(thread, fh, buffer, offset, hash) lends `buffer` to file
 * handle `fh` of the mount whose thread buffer is `thread`: writes from file offset
 * `offset` on are copied into it from its start. Returns false if it cannot (the
 * handle has a window already, or every slot is taken): JS then copies the writes.
 */
NAPI_METHOD(raidfs_window_open) {
  NAPI_ARGV(5)
  const void *mount = raidfs_window_mount(env, argv[0]);
  NAPI_ARGV_UINT32(fh, 1)
  NAPI_ARGV_BUFFER(data, 2)
  double offset;
  napi_get_value_double(env, argv[3], &offset);
  bool hash;
  napi_get_value_bool(env, argv[4], &hash);
  int opened = 0;
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *free_slot = NULL;
  for (int i = 0; i < RAIDFS_WINDOWS && free_slot == NULL; i++) {
    if (raidfs_windows[i].mount == NULL) free_slot = &raidfs_windows[i];
  }
  if (mount != NULL && free_slot != NULL && raidfs_window_find(mount, fh) == NULL) {
    EVP_MD_CTX *ctx = NULL;
    if (hash) {
      ctx = EVP_MD_CTX_new();
      if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        ctx = NULL;
      }
    }
    if (!hash || ctx != NULL) {
      napi_create_reference(env, argv[2], 1, &free_slot->buffer);
      free_slot->mount = mount;
      free_slot->fh = fh;
      free_slot->data = (uint8_t *) data;
      free_slot->capacity = data_len;
      free_slot->filled = 0;
      free_slot->next_offset = (uint64_t) offset;
      free_slot->hash = ctx;
      opened = 1;
    }
  }
  pthread_mutex_unlock(&raidfs_window_lock);
  napi_value result;
  napi_get_boolean(env, opened, &result);
  return result;
}

/*
 * JS: raidfs_window_append(thread, fh, bytes) copies as much of `bytes` as fits into
 * the window (bytes JS has checked continue the file) and returns how many it copied.
 */
NAPI_METHOD(raidfs_window_append) {
  NAPI_ARGV(3)
  const void *mount = raidfs_window_mount(env, argv[0]);
  NAPI_ARGV_UINT32(fh, 1)
  NAPI_ARGV_BUFFER(bytes, 2)
  size_t n = 0;
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *w = raidfs_window_find(mount, fh);
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
  const void *mount = raidfs_window_mount(env, argv[0]);
  NAPI_ARGV_UINT32(fh, 1)
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *w = raidfs_window_find(mount, fh);
  size_t filled = w != NULL ? w->filled : 0;
  pthread_mutex_unlock(&raidfs_window_lock);
  NAPI_RETURN_UINT32((uint32_t) filled)
}

/*
 * JS: raidfs_window_close(thread, fh, digest) takes the window back and returns
 * [bytes it holds, writes the FUSE thread answered into it, their bytes]; if it was
 * hashing and `digest` is a 32-byte buffer, the SHA-256 of the bytes it holds is
 * written there. Without a window it returns [0, 0, 0].
 */
NAPI_METHOD(raidfs_window_close) {
  NAPI_ARGV(3)
  const void *mount = raidfs_window_mount(env, argv[0]);
  NAPI_ARGV_UINT32(fh, 1)
  void *digest = NULL;
  size_t digest_len = 0;
  bool is_buffer = false;
  napi_is_buffer(env, argv[2], &is_buffer);
  if (is_buffer) napi_get_buffer_info(env, argv[2], &digest, &digest_len);
  raidfs_window_t taken = { 0 };
  pthread_mutex_lock(&raidfs_window_lock);
  raidfs_window_t *w = raidfs_window_find(mount, fh);
  if (w != NULL) {
    taken = *w;
    memset(w, 0, sizeof(*w));
  }
  pthread_mutex_unlock(&raidfs_window_lock);
  if (taken.hash != NULL) {
    if (digest != NULL && digest_len == 32) EVP_DigestFinal_ex(taken.hash, (unsigned char *) digest, NULL);
    EVP_MD_CTX_free(taken.hash);
  }
  if (taken.buffer != NULL) napi_delete_reference(env, taken.buffer);
  double counts[3] = { (double) taken.filled, (double) taken.fast_writes, (double) taken.fast_bytes };
  napi_value result, n;
  napi_create_array_with_length(env, 3, &result);
  for (uint32_t i = 0; i < 3; i++) {
    napi_create_double(env, counts[i], &n);
    napi_set_element(env, result, i, n);
  }
  return result;
}
