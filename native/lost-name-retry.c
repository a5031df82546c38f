/* raidfs: a node whose name libfuse lost answers ESTALE, so the kernel looks the path up
 * again, or, when a program has it open, is answered from that program's handle.
 *
 * libfuse 2's high-level API turns each request's node id into a path. Once a rename
 * has replaced a name (or an unlink removed it), the node that had it has no path, and
 * libfuse answers ENOENT for it. The kernel can still ask about that node: it found the
 * name in its cache, or looked it up, just before the rename, and sends the open a
 * moment after. So `cat conf` failed with "No such file or directory" while another
 * program saved conf the way editors do (a new file renamed over it), although a conf
 * existed all along: 20-38 % of the opens in a tight loop. ESTALE instead makes the
 * kernel look the path up again, without its cache (LOOKUP_REVAL), and retry once, as it
 * does for NFS; the retry finds the file that holds the name now. The same holds when a
 * REST request removed the file: the retry's lookup answers ENOENT, as it should, and an
 * open with O_CREAT creates the file instead of failing.
 *
 * Only requests the kernel makes for a path, and retries, are rewritten: open, opendir,
 * getattr, setattr and readlink. A getattr the kernel makes for an open descriptor
 * (fstat) is not retried by path, and libfuse hides a file that is open (renames it to
 * .fuse_hidden*) only once its open has returned: an fstat right after an open that a
 * rename raced failed with ENOENT (1-3 % of them in the loop above), and so did every
 * fstat of a file whose hidden name went with its directory or that REST deleted. So
 * a getattr that finds no name (or no file) for a node that a program holds open is
 * answered from that program's handle, as fgetattr is (src/fuse/attr-ops.ts: the file
 * as the handle has it, with no links once it is gone). A stat by path that raced the
 * change the same way gets that answer too, as it would on a local disk had it come a
 * moment sooner. A node nobody holds open answers ESTALE ("Stale file handle").
 *
 * How: the mount's channel is wrapped. Receiving reads a request from /dev/fuse as
 * libfuse's own channel does and notes its opcode, unique id and node for the worker
 * thread that read it; sending looks at a reply to that request. libfuse 2's high-level
 * API answers each request on the thread that received it, before that thread receives
 * another, and sends nothing for requests that get no answer (forget, interrupt), so
 * the note always belongs to the reply it is compared with. The handles open on each
 * node are taken from the replies to open and create and dropped at release; memory is
 * one small record per open handle.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <fuse_kernel.h>

/* fuse-native's, defined after this file is included. */
static int fuse_native_fgetattr (const char *path, struct stat *stat, struct fuse_file_info *info);

/* The request this worker thread is answering. */
static __thread uint64_t raidfs_request_unique = 0;
static __thread uint32_t raidfs_request_opcode = 0;
static __thread uint64_t raidfs_request_nodeid = 0;

/* The file handles open on each node of each mount (channel): one record per handle. */
typedef struct raidfs_open_handle {
  const struct fuse_chan *ch;
  uint64_t nodeid;
  uint64_t fh;
  struct raidfs_open_handle *next;
} raidfs_open_handle_t;

#define RAIDFS_HANDLE_BUCKETS 4096
static raidfs_open_handle_t *raidfs_open_handles[RAIDFS_HANDLE_BUCKETS];
static pthread_mutex_t raidfs_open_handles_lock = PTHREAD_MUTEX_INITIALIZER;

static raidfs_open_handle_t **raidfs_handle_bucket (uint64_t nodeid) {
  return &raidfs_open_handles[(nodeid * 0x9E3779B97F4A7C15ull) >> 52];
}

static void raidfs_handle_opened (const struct fuse_chan *ch, uint64_t nodeid, uint64_t fh) {
  raidfs_open_handle_t *h = malloc(sizeof(*h));
  if (h == NULL) return; /* only costs the fallback for this handle */
  h->ch = ch;
  h->nodeid = nodeid;
  h->fh = fh;
  pthread_mutex_lock(&raidfs_open_handles_lock);
  raidfs_open_handle_t **bucket = raidfs_handle_bucket(nodeid);
  h->next = *bucket;
  *bucket = h;
  pthread_mutex_unlock(&raidfs_open_handles_lock);
}

static void raidfs_handle_released (const struct fuse_chan *ch, uint64_t nodeid, uint64_t fh) {
  pthread_mutex_lock(&raidfs_open_handles_lock);
  for (raidfs_open_handle_t **p = raidfs_handle_bucket(nodeid); *p != NULL; p = &(*p)->next) {
    raidfs_open_handle_t *h = *p;
    if (h->ch == ch && h->nodeid == nodeid && h->fh == fh) {
      *p = h->next;
      free(h);
      break;
    }
  }
  pthread_mutex_unlock(&raidfs_open_handles_lock);
}

/* A handle open on the node (the one opened last), or 0 with *found false. */
static uint64_t raidfs_handle_of (const struct fuse_chan *ch, uint64_t nodeid, int *found) {
  uint64_t fh = 0;
  *found = 0;
  pthread_mutex_lock(&raidfs_open_handles_lock);
  for (raidfs_open_handle_t *h = *raidfs_handle_bucket(nodeid); h != NULL; h = h->next) {
    if (h->ch == ch && h->nodeid == nodeid) {
      fh = h->fh;
      *found = 1;
      break;
    }
  }
  pthread_mutex_unlock(&raidfs_open_handles_lock);
  return fh;
}

static int raidfs_retried_by_path (uint32_t opcode) {
  return opcode == FUSE_OPEN || opcode == FUSE_OPENDIR || opcode == FUSE_GETATTR ||
    opcode == FUSE_SETATTR || opcode == FUSE_READLINK;
}

/* As libfuse's fuse_kern_chan_receive: an interrupted read restarts, an unmount ends the session. */
static int raidfs_chan_receive (struct fuse_chan **chp, char *buf, size_t size) {
  struct fuse_chan *ch = *chp;
  struct fuse_session *se = fuse_chan_session(ch);
  ssize_t res;
  int err;
  do {
    res = read(fuse_chan_fd(ch), buf, size);
    err = errno;
  } while (res == -1 && err == ENOENT && !fuse_session_exited(se));
  if (fuse_session_exited(se)) return 0;
  if (res == -1) {
    if (err == ENODEV) {
      fuse_session_exit(se);
      return 0;
    }
    if (err != EINTR && err != EAGAIN) perror("fuse: reading device");
    return -err;
  }
  if ((size_t) res < sizeof(struct fuse_in_header)) {
    fprintf(stderr, "short read on fuse device\n");
    return -EIO;
  }
  const struct fuse_in_header *in = (const struct fuse_in_header *) buf;
  raidfs_request_unique = in->unique;
  raidfs_request_opcode = in->opcode;
  raidfs_request_nodeid = in->nodeid;
  if (in->opcode == FUSE_RELEASE && (size_t) res >= sizeof(*in) + sizeof(struct fuse_release_in)) {
    const struct fuse_release_in *release = (const struct fuse_release_in *) (buf + sizeof(*in));
    raidfs_handle_released(ch, in->nodeid, release->fh);
  }
  return (int) res;
}

/* The file handle a successful open or create reply carries, noted for its node. */
static void raidfs_note_opened (struct fuse_chan *ch, const struct iovec iov[], size_t count) {
  if (count != 2) return;
  if (raidfs_request_opcode == FUSE_OPEN && iov[1].iov_len >= sizeof(struct fuse_open_out)) {
    raidfs_handle_opened(ch, raidfs_request_nodeid, ((const struct fuse_open_out *) iov[1].iov_base)->fh);
  } else if (raidfs_request_opcode == FUSE_CREATE &&
      iov[1].iov_len >= sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out)) {
    const struct fuse_entry_out *entry = (const struct fuse_entry_out *) iov[1].iov_base;
    const struct fuse_open_out *open = (const struct fuse_open_out *) ((const char *) iov[1].iov_base + sizeof(*entry));
    raidfs_handle_opened(ch, entry->nodeid, open->fh);
  }
}

/*
 * Writes a getattr reply for the node from a handle a program holds open on it, as
 * fgetattr answers (not cached by the kernel: it stands in for the node only now).
 * Returns 1 if it did, 0 if no handle is open or fgetattr failed.
 */
static int raidfs_answer_from_handle (struct fuse_chan *ch, uint64_t unique, ssize_t *written) {
  int found;
  uint64_t fh = raidfs_handle_of(ch, raidfs_request_nodeid, &found);
  if (!found) return 0;
  struct fuse_file_info fi;
  memset(&fi, 0, sizeof(fi));
  fi.fh = fh;
  struct stat st;
  memset(&st, 0, sizeof(st));
  if (fuse_native_fgetattr(NULL, &st, &fi) != 0) return 0;
  struct fuse_attr_out arg;
  memset(&arg, 0, sizeof(arg));
  arg.attr.ino = st.st_ino;
  arg.attr.size = st.st_size;
  arg.attr.blocks = st.st_blocks;
  arg.attr.atime = st.st_atim.tv_sec;
  arg.attr.mtime = st.st_mtim.tv_sec;
  arg.attr.ctime = st.st_ctim.tv_sec;
  arg.attr.atimensec = st.st_atim.tv_nsec;
  arg.attr.mtimensec = st.st_mtim.tv_nsec;
  arg.attr.ctimensec = st.st_ctim.tv_nsec;
  arg.attr.mode = st.st_mode;
  arg.attr.nlink = st.st_nlink;
  arg.attr.uid = st.st_uid;
  arg.attr.gid = st.st_gid;
  arg.attr.rdev = st.st_rdev;
  arg.attr.blksize = st.st_blksize;
  struct fuse_out_header out = { .len = sizeof(out) + sizeof(arg), .error = 0, .unique = unique };
  struct iovec reply[2] = { { &out, sizeof(out) }, { &arg, sizeof(arg) } };
  *written = writev(fuse_chan_fd(ch), reply, 2);
  return 1;
}

static int raidfs_chan_send (struct fuse_chan *ch, const struct iovec iov[], size_t count) {
  if (iov == NULL) return 0;
  ssize_t res = 0;
  int sent = 0;
  if (count > 0 && iov[0].iov_len >= sizeof(struct fuse_out_header)) {
    struct fuse_out_header *out = (struct fuse_out_header *) iov[0].iov_base;
    if (out->unique == raidfs_request_unique && out->error == 0) {
      raidfs_note_opened(ch, iov, count);
    } else if (out->unique == raidfs_request_unique && out->error == -ENOENT && raidfs_retried_by_path(raidfs_request_opcode)) {
      sent = raidfs_request_opcode == FUSE_GETATTR && raidfs_answer_from_handle(ch, out->unique, &res);
      if (!sent) out->error = -ESTALE;
    }
  }
  if (!sent) res = writev(fuse_chan_fd(ch), iov, (int) count);
  if (res == -1) {
    int err = errno;
    /* ENOENT: the request was interrupted, and the kernel no longer wants the reply. */
    if (!fuse_session_exited(fuse_chan_session(ch)) && err != ENOENT) perror("fuse: writing device");
    return -err;
  }
  return 0;
}

/* The channel fuse_mount made keeps the device: fuse_unmount closes it and destroys that one. */
static struct fuse_chan_ops raidfs_chan_ops = {
  .receive = raidfs_chan_receive,
  .send = raidfs_chan_send,
  .destroy = NULL,
};

/* The device of the process's mount (raidfs mounts one per process), for notifications (attr-notify.c). */
static int raidfs_mount_fd = -1;

/* The channel for fuse_new: the device of `mounted` (from fuse_mount), read and written as above. */
static struct fuse_chan *raidfs_lost_name_retry_chan (struct fuse_chan *mounted) {
  raidfs_mount_fd = fuse_chan_fd(mounted);
  struct fuse_chan *ch = fuse_chan_new(&raidfs_chan_ops, fuse_chan_fd(mounted), fuse_chan_bufsize(mounted), NULL);
  return ch == NULL ? mounted : ch;
}
