/*
 * raidfs: tells the kernel that what it caches of a node's attributes is out of date.
 *
 * The kernel keeps a file's attributes for --cache-seconds and refreshes them after
 * the changes it makes itself; a change JS makes on its own while answering another
 * operation (the set-ID bits a write takes off, src/fuse/set-id-bits.ts) would show
 * only once that time ran out. raidfs_forget_attributes(node) writes the kernel's
 * FUSE_NOTIFY_INVAL_INODE for the node with offset -1: the attributes only, no pages,
 * so it takes no page lock and cannot wait for a request the mount has not answered.
 *
 * Invariant: nothing is sent before the mount's channel exists (raidfs_mount_fd,
 * lost-name-retry.c) or after it closed; a node the kernel no longer knows is no error.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/uio.h>

NAPI_METHOD(raidfs_forget_attributes) {
  NAPI_ARGV(1)
  NAPI_ARGV_UINT32(node, 0)
  if (raidfs_mount_fd < 0 || node == 0) return NULL;
  struct fuse_notify_inval_inode_out arg = { .ino = node, .off = -1, .len = 0 };
  struct fuse_out_header out = { .len = sizeof(out) + sizeof(arg), .error = FUSE_NOTIFY_INVAL_INODE, .unique = 0 };
  struct iovec iov[2] = { { &out, sizeof(out) }, { &arg, sizeof(arg) } };
  if (writev(raidfs_mount_fd, iov, 2) == -1 && errno != ENOENT && errno != EBADF && errno != ENODEV) perror("raidfs: notifying the kernel");
  return NULL;
}
