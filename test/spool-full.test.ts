/**
 * The mount with its spool on a full disk (a 1 MiB tmpfs). A sequential writer's
 * bytes reach the nodes through the streaming upload and never need the spool, so
 * its file is stored whole; a writer that then goes back needs the spool (the
 * stream's bytes are read back into it): it must get the error (at that write or at
 * close) and the file must not be left behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testBytes } from './helpers/data';
import { isMounted } from './helpers/host';
import { MountedRaidfs, sh } from './helpers/mounted-raidfs';

const STRIPE = 256 * 1024;

describe('the mount with its spool on a full disk', () => {
  let fsys: MountedRaidfs | undefined;
  let dir: string | undefined;
  let spool: string | undefined;
  let src: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-spool-'));
    spool = path.join(dir, 'data', 'spool'); // where `raidfs up --data DIR` keeps its spool
    mkdirSync(spool, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', spool]);
    fsys = await MountedRaidfs.start({ args: ['--stripe-size', `${STRIPE}`, '--data', path.join(dir, 'data')] });
    src = path.join(dir, 'three-mib.bin');
    await fs.writeFile(src, testBytes(3 << 20, 'spool-full'));
  });
  after(async () => {
    await fsys?.stop();
    if (spool && isMounted(spool)) execFileSync('umount', ['-l', spool]);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('a sequential cp of 3 MiB is stored whole although the 1 MiB spool cannot hold it', async () => {
    const r = await sh(`cp ${src} ${fsys!.mnt}/seq.bin && cmp ${src} ${fsys!.mnt}/seq.bin`);
    assert.equal(r.code, 0, r.stderr);
  });

  it('a writer that goes back after 3 MiB gets the error (from that write or close) and leaves no file', async () => {
    const piece = Buffer.alloc(128 * 1024, 7);
    const failure = await fsys!.writeAndClose('back.bin', async (handle) => {
      for (let i = 0; i < 24; i++) await handle.write(piece);
      await handle.write(Buffer.from('X'), 0, 1, 0);
    });
    assert.match(String(failure?.code), /ENOSPC|EIO/, `the write back or close() failed: ${String(failure)}`);
    await assert.rejects(fs.stat(fsys!.at('back.bin')), { code: 'ENOENT' });
  });
});
