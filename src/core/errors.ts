/**
 * The errors the controller core reports to its front ends. Codes are POSIX errno
 * names where one fits, so the FUSE front end passes them through unchanged and the
 * REST facade maps each to one HTTP status. EUNAVAIL means "too few storage nodes
 * are alive to do this now" (FUSE: EIO, REST: 503).
 */
export type ErrorCode =
  | 'ENOENT' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOTEMPTY' | 'EINVAL' | 'ENAMETOOLONG'
  | 'EILSEQ' | 'ENOSPC' | 'EIO' | 'EUNAVAIL';

export class RaidfsError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'RaidfsError';
  }
}
