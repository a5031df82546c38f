/**
 * The set-user-ID and set-group-ID bits that a write or truncate by an unprivileged
 * program takes off a file, as Linux's own file systems do (the kernel's
 * setattr_should_drop_suidgid): set-user-ID always, set-group-ID if the file is
 * group-executable or the program is not in its group; none if the program has
 * CAP_FSETID (root, normally). Otherwise a user allowed to write a set-ID program
 * would run the code they wrote into it as its owner or group.
 *
 * The kernel does this itself only for writes through the page cache and for
 * truncate(2); libfuse 2 cannot ask it to for the rest (no killpriv), so raidfs does
 * it for direct-I/O writes (every write-only handle) and O_TRUNC opens.
 *
 * Invariant: a program's capabilities and groups are read from /proc only when the
 * file has such a bit, so the writes of other files never pay for it.
 */
import type { Caller } from './binding';
import { processStatus } from './caller-process';

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_IXGRP = 0o010;
const CAP_FSETID = 4;

/** The bits of `mode` (a file of group `gid`) that `caller` writing or truncating it takes off: 0 for none. */
export function setIdBitsDropped(mode: number, gid: number, caller: Caller): number {
  if ((mode & (S_ISUID | S_ISGID)) === 0) return 0;
  const status = processStatus(caller.pid);
  let dropped = mode & S_ISUID;
  if (mode & S_ISGID && (mode & S_IXGRP || !inGroup(caller, gid, status))) dropped |= S_ISGID;
  if (dropped === 0) return 0;
  const privileged = status ? hasCapability(status, CAP_FSETID) : caller.uid === 0;
  return privileged ? 0 : dropped;
}

function inGroup(caller: Caller, gid: number, status: string | undefined): boolean {
  if (caller.gid === gid) return true;
  const groups = /^Groups:(.*)$/m.exec(status ?? '')?.[1] ?? '';
  return groups.trim().split(/\s+/).filter(Boolean).map(Number).includes(gid);
}

function hasCapability(status: string, capability: number): boolean {
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return effective !== undefined && (BigInt(`0x${effective}`) >> BigInt(capability) & 1n) === 1n;
}
