/**
 * The errors the controller core reports to its front ends. Codes are POSIX errno
 * names where one fits, so the FUSE front end passes them through unchanged and the
 * REST facade maps each to one HTTP status. EUNAVAIL means "too few storage nodes
 * are alive to do this now" (FUSE: EIO, REST: 503). EBUSY refuses an operator's
 * request that the cluster's state does not allow yet (REST: 409).
 */
export type ErrorCode =
  | 'ENOENT' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOTEMPTY' | 'EINVAL' | 'ENAMETOOLONG'
  | 'EILSEQ' | 'EFBIG' | 'ENOSPC' | 'EIO' | 'EUNAVAIL' | 'EBUSY' | 'EPERM';

export class RaidfsError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'RaidfsError';
  }
}

/**
 * A failure from below the core, in core terms where it has them: a full file system
 * (ENOSPC or EDQUOT from a file, SQLITE_FULL from the metadata) is ENOSPC, and a file
 * the spool's file system cannot make that large is EFBIG. The front ends ask this
 * before they answer an error, so a full disk reaches the user as one (cp: "No space
 * left on device", REST: 507), never as an internal error.
 */
export function coreErrorOf(err: unknown): RaidfsError | undefined {
  if (err instanceof RaidfsError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'SQLITE_FULL') return new RaidfsError('ENOSPC', 'the controller\'s metadata disk is full');
  if (code === 'ENOSPC' || code === 'EDQUOT') return new RaidfsError('ENOSPC', `disk full: ${(err as Error).message}`);
  if (code === 'EFBIG') return new RaidfsError('EFBIG', `file too large: ${(err as Error).message}`);
  return undefined;
}
