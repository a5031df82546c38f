/*
 * raidfs: answers getattr from the attributes the last readdir returned, on the FUSE
 * thread, without a round trip to JavaScript (what FUSE 3's readdirplus does; libfuse
 * 2, which fuse-native uses, has no readdirplus). `ls -l` of a directory whose
 * entries the kernel no longer caches is a readdir and then one LOOKUP, so one
 * getattr, per name: each used to wake the JS thread and wait for it.
 *
 * Likewise the fgetattr libfuse 2 makes right after every create (its reply carries
 * the new file's attributes): JS hands the binding the attributes of the file it has
 * just created, before it answers (raidfs_attr_cache_created), and that fgetattr is
 * answered from them, which saves one of the few round trips to JS a small file costs.
 *
 * native/fuse-binding.mjs copies this file beside fuse-native.c and includes it there,
 * after fuse-native's types; it also hooks it into fuse-native's handlers:
 *   - every operation's handler calls raidfs_attr_op_starts() before handing the
 *     operation to JS and, for one that may change attributes, raidfs_attr_op_ends()
 *     once JS has answered;
 *   - readdir's answer (on the JS thread) passes each entry's stat to raidfs_attr_put();
 *   - getattr asks raidfs_attr_cached() first and returns at once on a hit.
 *
 * Invariants:
 * - An entry is served only while nothing that may have changed attributes happened
 *   since its readdir began: every operation other than the read-only ones below
 *   bumps the generation when it starts and again when it ends, a readdir begun while
 *   such an operation runs caches nothing, and JS bumps it for changes made elsewhere
 *   (the REST API) through raidfs_attr_cache_invalidate, as the binding does for a
 *   write it answers itself (io-window.c). So a hit returns exactly what
 *   getattr in JS would have returned at the readdir, with no change in between.
 * - An entry is served at most `ttl` after its readdir (the mount's attribute
 *   timeout; 0 turns the cache off), so it never outlives what the kernel would cache.
 * - Memory is bounded: a fixed table of slots. An entry goes to the first of the
 *   RAIDFS_ATTR_PROBE slots from its hash that holds its path or nothing servable,
 *   else it replaces the first (a lost entry only costs one round trip to JS).
 * - Entries of different mounts in one process never mix: a slot remembers its mount.
 * - A created file's attributes are served once, to an fgetattr of that handle, and
 *   only if nothing else changed or started changing since JS gave them: the
 *   generation must be the one JS saw plus the create's own end. So they are exactly
 *   what getattr in JS would return then; anything else goes to JS.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* fuse-native's, defined after this file is included. */
static void populate_stat (uint32_t *ints, struct stat *stat);

#define RAIDFS_ATTR_SLOTS 16384
#define RAIDFS_ATTR_PROBE 4

typedef struct {
  const void *mount;
  char *path;
  struct stat st;
  uint64_t generation;
  uint64_t expires_ns;
} raidfs_attr_slot_t;

static pthread_mutex_t raidfs_attr_lock = PTHREAD_MUTEX_INITIALIZER;
static raidfs_attr_slot_t raidfs_attr_slots[RAIDFS_ATTR_SLOTS];
/* Changes whenever attributes may have changed; 0 is never a valid generation. */
static uint64_t raidfs_attr_generation = 1;
/* Operations that may change attributes, started and not yet answered. */
static uint32_t raidfs_attr_changing = 0;
static uint64_t raidfs_attr_ttl_ns = 0;
static double raidfs_attr_hits = 0;
/* The attributes of the file the last create made, as JS answered them (see raidfs_attr_cache_created). */
static struct {
  const void *mount; /* NULL: none */
  uint64_t fh;
  struct stat st;
  uint64_t generation;
} raidfs_attr_created_file;

static uint64_t raidfs_attr_now_ns (void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t) now.tv_sec * 1000000000ull + (uint64_t) now.tv_nsec;
}

/* FNV-1a: `h` continued over the bytes of `text`. */
static uint64_t raidfs_attr_fnv (uint64_t h, const char *text) {
  for (const char *c = text; *c; c++) h = (h ^ (unsigned char) *c) * 1099511628211ull;
  return h;
}

/* The first slot for a path (`dir` alone, or `dir` joined with `name`) of a mount. */
static uint32_t raidfs_attr_slot_of (const void *mount, const char *dir, const char *name) {
  uint64_t h = raidfs_attr_fnv(1469598103934665603ull ^ (uint64_t) (uintptr_t) mount, dir);
  if (name != NULL) h = raidfs_attr_fnv(strcmp(dir, "/") != 0 ? raidfs_attr_fnv(h, "/") : h, name);
  return (uint32_t) (h ^ (h >> 32)) & (RAIDFS_ATTR_SLOTS - 1);
}

/* Whether a slot holds an entry that may still be served (call with the lock held). */
static int raidfs_attr_servable (const raidfs_attr_slot_t *slot, uint64_t now) {
  return slot->path != NULL && slot->generation == raidfs_attr_generation && now < slot->expires_ns;
}

/* Operations that never change attributes; every other one counts as a change. */
static int raidfs_attr_op_reads_only (uint32_t op) {
  return op == op_getattr || op == op_fgetattr || op == op_readdir || op == op_opendir ||
    op == op_releasedir || op == op_statfs || op == op_readlink || op == op_access ||
    op == op_read || op == op_getxattr || op == op_listxattr || op == op_init || op == op_error;
}

/* Before an operation goes to JS: returns 1 if it may change attributes (call raidfs_attr_op_ends after). */
static int raidfs_attr_op_starts (fuse_thread_locals_t *l) {
  int changes = !raidfs_attr_op_reads_only(l->op);
  if (!changes && l->op != op_readdir) return 0; /* reads and the like: nothing to note */
  pthread_mutex_lock(&raidfs_attr_lock);
  if (changes) {
    raidfs_attr_changing++;
    raidfs_attr_generation++;
  } else {
    l->attr_generation = raidfs_attr_changing == 0 && raidfs_attr_ttl_ns > 0 ? raidfs_attr_generation : 0;
  }
  pthread_mutex_unlock(&raidfs_attr_lock);
  return changes;
}

static void raidfs_attr_op_ends (void) {
  pthread_mutex_lock(&raidfs_attr_lock);
  raidfs_attr_changing--;
  raidfs_attr_generation++;
  pthread_mutex_unlock(&raidfs_attr_lock);
}

/* Remembers `st` for dir/name, as of `generation` (0: the readdir must not be cached). */
static void raidfs_attr_put (const void *mount, const char *dir, const char *name, const struct stat *st, uint64_t generation) {
  if (generation == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return;
  size_t dir_len = strlen(dir);
  int root = strcmp(dir, "/") == 0;
  char *path = malloc(dir_len + strlen(name) + 2);
  if (path == NULL) return;
  strcpy(path, dir);
  if (!root) path[dir_len++] = '/';
  strcpy(path + dir_len, name);
  uint32_t first = raidfs_attr_slot_of(mount, dir, name);
  pthread_mutex_lock(&raidfs_attr_lock);
  if (generation != raidfs_attr_generation) { /* something changed since the readdir began */
    pthread_mutex_unlock(&raidfs_attr_lock);
    free(path);
    return;
  }
  uint64_t now = raidfs_attr_now_ns();
  raidfs_attr_slot_t *slot = NULL;
  raidfs_attr_slot_t *free_slot = NULL;
  for (uint32_t k = 0; k < RAIDFS_ATTR_PROBE && slot == NULL; k++) {
    raidfs_attr_slot_t *s = &raidfs_attr_slots[(first + k) & (RAIDFS_ATTR_SLOTS - 1)];
    if (s->path != NULL && s->mount == mount && strcmp(s->path, path) == 0) slot = s;
    else if (free_slot == NULL && !raidfs_attr_servable(s, now)) free_slot = s;
  }
  if (slot == NULL) slot = free_slot != NULL ? free_slot : &raidfs_attr_slots[first];
  char *old = slot->path;
  slot->mount = mount;
  slot->path = path;
  slot->st = *st;
  slot->generation = generation;
  slot->expires_ns = now + raidfs_attr_ttl_ns;
  pthread_mutex_unlock(&raidfs_attr_lock);
  free(old);
}

/* Fills `st` and returns 1 if a readdir's stat for `path` may still be served. */
static int raidfs_attr_cached (const void *mount, const char *path, struct stat *st) {
  uint32_t first = raidfs_attr_slot_of(mount, path, NULL);
  int hit = 0;
  pthread_mutex_lock(&raidfs_attr_lock);
  uint64_t now = raidfs_attr_now_ns();
  for (uint32_t k = 0; k < RAIDFS_ATTR_PROBE && !hit; k++) {
    raidfs_attr_slot_t *slot = &raidfs_attr_slots[(first + k) & (RAIDFS_ATTR_SLOTS - 1)];
    if (slot->mount == mount && raidfs_attr_servable(slot, now) && strcmp(slot->path, path) == 0) {
      *st = slot->st;
      raidfs_attr_hits++;
      hit = 1;
    }
  }
  pthread_mutex_unlock(&raidfs_attr_lock);
  return hit;
}

/* JS: raidfs_attr_cache_ttl(ms) sets how long an entry may be served (0: off). */
NAPI_METHOD(raidfs_attr_cache_ttl) {
  NAPI_ARGV(1)
  NAPI_ARGV_UINT32(ms, 0)
  pthread_mutex_lock(&raidfs_attr_lock);
  raidfs_attr_ttl_ns = (uint64_t) ms * 1000000ull;
  raidfs_attr_generation++;
  pthread_mutex_unlock(&raidfs_attr_lock);
  return NULL;
}

/* The mount a JS call names: the data of fuse-native's thread buffer (what libfuse's private_data points to). */
static const void *raidfs_mount_of (napi_env env, napi_value thread) {
  void *data = NULL;
  size_t len = 0;
  if (napi_get_buffer_info(env, thread, &data, &len) != napi_ok || len == 0) return NULL;
  return data;
}

/*
 * JS, while answering a create: raidfs_attr_cache_created(thread, fh, stat) gives the
 * new file's attributes (fuse-native's stat array) for the fgetattr libfuse makes
 * right after the create returns.
 */
NAPI_METHOD(raidfs_attr_cache_created) {
  NAPI_ARGV(3)
  const void *mount = raidfs_mount_of(env, argv[0]);
  NAPI_ARGV_UINT32(fh, 1)
  NAPI_ARGV_BUFFER_CAST(uint32_t *, ints, 2)
  struct stat st;
  memset(&st, 0, sizeof(st));
  populate_stat(ints, &st);
  pthread_mutex_lock(&raidfs_attr_lock);
  raidfs_attr_created_file.mount = mount;
  raidfs_attr_created_file.fh = fh;
  raidfs_attr_created_file.st = st;
  raidfs_attr_created_file.generation = raidfs_attr_generation;
  pthread_mutex_unlock(&raidfs_attr_lock);
  return NULL;
}

/* FUSE thread, in fgetattr: fills `st` and returns 1 if handle `fh` was just created and nothing changed since. */
static int raidfs_attr_just_created (const void *mount, uint64_t fh, struct stat *st) {
  int hit = 0;
  pthread_mutex_lock(&raidfs_attr_lock);
  if (mount != NULL && raidfs_attr_created_file.mount == mount && raidfs_attr_created_file.fh == fh) {
    raidfs_attr_created_file.mount = NULL; /* served once at most */
    if (raidfs_attr_changing == 0 && raidfs_attr_generation == raidfs_attr_created_file.generation + 1) {
      *st = raidfs_attr_created_file.st;
      raidfs_attr_hits++;
      hit = 1;
    }
  }
  pthread_mutex_unlock(&raidfs_attr_lock);
  return hit;
}

/* Attributes changed other than by an operation in JS: no entry cached before may be served. */
static void raidfs_attr_changed (void) {
  pthread_mutex_lock(&raidfs_attr_lock);
  raidfs_attr_generation++;
  pthread_mutex_unlock(&raidfs_attr_lock);
}

/* JS: raidfs_attr_cache_invalidate() after attributes changed other than through the mount. */
NAPI_METHOD(raidfs_attr_cache_invalidate) {
  raidfs_attr_changed();
  return NULL;
}

/* JS: raidfs_attr_cache_hits() is how many getattr calls the cache answered. */
NAPI_METHOD(raidfs_attr_cache_hits) {
  pthread_mutex_lock(&raidfs_attr_lock);
  double hits = raidfs_attr_hits;
  pthread_mutex_unlock(&raidfs_attr_lock);
  napi_value result;
  napi_create_double(env, hits, &result);
  return result;
}
