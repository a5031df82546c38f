/**
 * Who owns an entry made without a caller of its own: the root directory of a new
 * database, a file uploaded over REST, a parent directory made on the way. It is the
 * user running the controller (root for a system service), so that a user who runs
 * `raidfs up` without root owns the mount's root and what REST stores, and can write
 * there through the mount (the kernel checks permissions, `default_permissions`).
 * Entries made through the mount belong to the process that made them (src/fuse/).
 */
export const PROCESS_OWNER: { readonly uid: number; readonly gid: number } = {
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
};
