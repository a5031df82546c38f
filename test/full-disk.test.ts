/**
 * `raidfs up` with everything on one small disk (a 24 MiB tmpfs holding the metadata,
 * the spool and the data of its 2 nodes), as on a machine where all of it shares one
 * file system. Filling it through the mount ends in ENOSPC ("No space left on
 * device"), never EIO, and leaves no file behind; the nodes leave the disk's last
 * 8 MiB free, so the metadata can still commit the deletes that free space. When
 * another program takes the last byte, metadata changes fail with ENOSPC too, and
 * work again once there is room.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testBytes, waitUntil } from './helpers/data';
import { isMounted } from './helpers/host';
import { MountedRaidfs, sh } from './helpers/mounted-raidfs';

const MiB = 1024 * 1024;

describe('raidfs up with its metadata and its nodes on one full disk (24 MiB tmpfs)', () => {
  let fsys: MountedRaidfs | undefined;
  let dir: string;
  let data: string;
  let src: string;
  const freeBytes = async () => {
    const st = await fs.statfs(data);
    return st.bavail * st.bsize;
  };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-full-'));
    data = path.join(dir, 'data');
    mkdirSync(data);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', data]);
    fsys = await MountedRaidfs.start({ nodes: 2, args: ['--data', data, '--delete-delay', '0'] });
    src = path.join(dir, 'one-mb.bin');
    await fs.writeFile(src, testBytes(1_000_000, 'full-disk'));
  });
  after(async () => {
    await fsys?.stop();
    if (isMounted(data)) execFileSync('umount', ['-l', data]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('cp until the disk is full fails with ENOSPC and leaves no file; rm still works and frees the space', async (t) => {
    const mnt = fsys!.mnt;
    const stored: string[] = [];
    let failure = '';
    for (let i = 0; i < 40 && !failure; i++) {
      const r = await sh(`cp ${src} ${mnt}/f${i}`);
      if (r.code === 0) stored.push(`f${i}`);
      else failure = r.stderr;
    }
    t.diagnostic(`${stored.length} files of 1 MB stored, then: ${failure.trim()}; ${(await freeBytes()) / MiB} MiB left free on the disk`);
    assert.ok(stored.length >= 4, `${stored.length} files stored before the disk was full`);
    assert.match(failure, /No space left on device/);
    assert.deepEqual((await fs.readdir(mnt)).sort(), stored.sort(), 'the failed copy left no file');
    assert.ok(await freeBytes() >= 4 * MiB, 'the nodes left the end of the disk free');

    const rm = await sh(`rm -r ${mnt}/*`);
    assert.equal(rm.code, 0, rm.stderr);
    await waitUntil(async () => (await freeBytes()) >= 20 * MiB, 'the deleted copies are gone from the disk', 10_000);
    const again = await sh(`cp ${src} ${mnt}/again && cmp ${src} ${mnt}/again`);
    assert.equal(again.code, 0, again.stderr);
  });

  it('with the last byte taken by another program, metadata changes fail with ENOSPC, and work once there is room', async () => {
    const mnt = fsys!.mnt;
    const filler = path.join(data, 'filler');
    await sh(`dd if=/dev/zero of=${filler} bs=64k status=none`);
    assert.equal(await freeBytes(), 0);
    // Long names, so that the metadata soon needs pages its files do not have yet.
    const long = 'x'.repeat(200);
    const made = await sh(`for i in $(seq 1 3000); do mkdir ${mnt}/d$i-${long} || exit 1; done`);
    assert.notEqual(made.code, 0, 'a mkdir failed once the metadata needed room');
    assert.match(made.stderr, /No space left on device/);
    await fs.rm(filler);
    const after = await sh(`mkdir ${mnt}/after && rm -rf ${mnt}/d*-${long} && ls ${mnt}`);
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(after.stdout.split('\n').filter(Boolean).sort(), ['after', 'again']);
  });
});
