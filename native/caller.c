/*
 * raidfs: who made the request JS is answering (the calling process's uid, gid and pid),
 * and which of the kernel's inodes (libfuse's node id) it is about.
 *
 * fuse-native hands JS an operation's arguments, not its caller, and every file,
 * directory and symlink made through the mount belonged to uid 0, gid 0, whoever made
 * it; nor does it pass create's open flags, and a file created with O_APPEND must
 * append. The FUSE thread that takes a request notes fuse_get_context()'s caller in its
 * thread locals before it hands the operation on (raidfs_caller_note, in fuse-native's
 * handler macro); the JS thread makes that the current caller right before it calls the
 * operation's JS handler (raidfs_caller_enter, in the dispatch), and raidfs_caller()
 * returns it to JS.
 *
 * Invariant: JS gets the caller of the operation it is answering as long as it asks
 * synchronously, in the handler's first turn (src/fuse/ does, before any await);
 * the next dispatch changes it.
 */
#include <stdint.h>

#define RAIDFS_CALLER_FIELDS 5
static uint32_t raidfs_current_caller[RAIDFS_CALLER_FIELDS]; /* uid, gid, pid, create's flags, node id; JS thread only */

static void raidfs_caller_note (fuse_thread_locals_t *l) {
  const struct fuse_context *c = fuse_get_context();
  l->raidfs_caller[0] = c->uid;
  l->raidfs_caller[1] = c->gid;
  l->raidfs_caller[2] = (uint32_t) c->pid;
  l->raidfs_caller[3] = 0;
  /* The kernel's inode the request is about (lost-name-retry.c notes it); libfuse 2's node ids are 32-bit. */
  l->raidfs_caller[4] = (uint32_t) raidfs_request_nodeid;
}

/* create's open flags, which fuse-native does not pass (O_APPEND matters: see src/fuse/file-ops.ts). */
static void raidfs_caller_note_create (fuse_thread_locals_t *l, const struct fuse_file_info *info) {
  l->raidfs_caller[3] = info == NULL ? 0 : (uint32_t) info->flags;
}

static void raidfs_caller_enter (const fuse_thread_locals_t *l) {
  for (int i = 0; i < RAIDFS_CALLER_FIELDS; i++) raidfs_current_caller[i] = l->raidfs_caller[i];
}

/* [uid, gid, pid, flags, node] of the operation's caller (flags: a create's, else 0; node: the node id the request names). */
NAPI_METHOD(raidfs_caller) {
  napi_value result;
  NAPI_STATUS_THROWS(napi_create_array_with_length(env, RAIDFS_CALLER_FIELDS, &result));
  for (uint32_t i = 0; i < RAIDFS_CALLER_FIELDS; i++) {
    napi_value n;
    NAPI_STATUS_THROWS(napi_create_uint32(env, raidfs_current_caller[i], &n));
    NAPI_STATUS_THROWS(napi_set_element(env, result, i, n));
  }
  return result;
}
