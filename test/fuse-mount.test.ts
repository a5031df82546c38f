/**
 * The mount as users use it: a real `raidfs up` (4 node processes, FUSE) driven by
 * the ordinary tools (cp, cat, ls, mv, rm, dd, rsync, tar) run from this separate
 * process; every check compares bytes read back or exit codes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testBytes, waitUntil } from './helpers/data';
import { MountedRaidfs, sh } from './helpers/mounted-raidfs';
import { CLI_ENTRY } from '../src/cli/local-nodes';
import { PrometheusText } from './helpers/prometheus-text';
import { MAX_FILE_SIZE } from '../src/core/file-size';
import { WHOLE_LISTING_MAX } from '../src/fuse/directory-pages';
import { keptFree } from '../src/node/chunk-store';

const STRIPE = 256 * 1024;

interface FileInfo {
  parts: Array<{ index: number; offset: number; size: number; chunk_id: string; replicas: Array<{ node: string }> }>;
}

/** GET /files/ID/info of a file in the mount, by its inode number (its REST id). */
async function infoOf(fsys: MountedRaidfs, name: string): Promise<FileInfo> {
  const { ino } = await fs.stat(fsys.at(name));
  return await (await fetch(`${fsys.restUrl}/files/${ino}/info`)).json() as FileInfo;
}

describe('the mount (raidfs up, 4 nodes, stripe 256 KiB, metadata sync and delete delays 1 h)', () => {
  let fsys: MountedRaidfs;
  let local: string;
  before(async () => {
    // The long sync delay leaves the fsync of closed files' metadata to fsync(2), so
    // the test of it is deterministic; the timer itself is tested in metadata-sync.
    // So does the long delete delay: the collector syncs the metadata before it
    // deletes copies that are due (doomed-collector.ts), and would run every 5 s.
    fsys = await MountedRaidfs.start({ args: ['--stripe-size', `${STRIPE}`, '--sync-delay', '1h', '--delete-delay', '1h'] });
    local = await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-local-'));
  });
  after(async () => {
    await fsys?.stop();
    await fs.rm(local, { recursive: true, force: true });
  });

  const ok = async (script: string) => {
    const r = await sh(script, { cwd: local });
    assert.equal(r.code, 0, `${script}\n${r.stderr}`);
    return r.stdout;
  };

  it('cp of files from 0 bytes to several stripes reads back identical (cmp)', async () => {
    for (const size of [0, 1, 4097, 2 * STRIPE, 2 * STRIPE + 1, 12 * STRIPE + 12_345]) {
      const src = path.join(local, `f${size}`);
      await fs.writeFile(src, testBytes(size, `cp${size}`));
      await ok(`cp ${src} ${fsys.mnt}/ && cmp ${src} ${fsys.mnt}/f${size}`);
      assert.equal((await fs.stat(fsys.at(`f${size}`))).size, size);
    }
  });

  it('cp -r of a nested tree, diff -r, ls -l sizes and times, and rm -r', async () => {
    await ok(`mkdir -p tree/a/b/c tree/empty && for i in 1 2 3; do head -c $((i * 70000)) /dev/urandom > tree/a/f$i; done
              echo top > tree/top.txt && head -c 600000 /dev/urandom > tree/a/b/c/deep.bin`);
    const before = Date.now();
    await ok(`cp -r tree ${fsys.mnt}/tree && diff -r tree ${fsys.mnt}/tree`);
    const listing = await ok(`ls -l --time-style=+%s ${fsys.mnt}/tree/a`);
    assert.match(listing, /\s140000 \d+ f2\n/);
    const mtime = Number(/\s70000 (\d+) f1/.exec(listing)?.[1]);
    assert.ok(Math.abs(mtime * 1000 - before) < 60_000, `mtime ${mtime} is about now`);
    await ok(`rm -r ${fsys.mnt}/tree`);
    await assert.rejects(fs.stat(fsys.at('tree')), { code: 'ENOENT' });
  });

  it('mv renames files and directories across directories, replacing targets', async () => {
    await ok(`mkdir -p ${fsys.mnt}/m1/sub ${fsys.mnt}/m2 && echo one > ${fsys.mnt}/m1/sub/x && echo two > ${fsys.mnt}/m2/y`);
    await ok(`mv ${fsys.mnt}/m1/sub/x ${fsys.mnt}/m2/y && mv ${fsys.mnt}/m1/sub ${fsys.mnt}/m2/sub`);
    assert.equal(await fs.readFile(fsys.at('m2/y'), 'utf8'), 'one\n');
    assert.deepEqual((await fs.readdir(fsys.at('m2'))).sort(), ['sub', 'y']);
    assert.deepEqual(await fs.readdir(fsys.at('m1')), []);
  });

  it('a directory\'s link count is 2 plus its subdirectories, through mkdir, mv, rmdir and rm -r', async () => {
    const links = async (...dirs: string[]) => (await ok(`cd ${fsys.mnt} && stat -c %h ${dirs.join(' ')}`)).trim().split('\n').map(Number);
    await ok(`mkdir -p ${fsys.mnt}/n1/a/deep ${fsys.mnt}/n1/b ${fsys.mnt}/n2 && touch ${fsys.mnt}/n1/file && ln -s a ${fsys.mnt}/n1/link`);
    assert.deepEqual(await links('n1', 'n1/a', 'n1/a/deep', 'n2'), [4, 3, 2, 2]);
    await ok(`mv ${fsys.mnt}/n1/a ${fsys.mnt}/n2/a && rmdir ${fsys.mnt}/n1/b`);
    assert.deepEqual(await links('n1', 'n2', 'n2/a'), [2, 3, 3]);
    // The same counts from the attributes a readdir returned (the binding's cache).
    assert.match(await ok(`ls -l ${fsys.mnt}/n2`), /^d\S+\s+3 .* a$/m);
    await ok(`mkdir ${fsys.mnt}/n1/c && mv -T ${fsys.mnt}/n1/c ${fsys.mnt}/n2/a/deep`);
    assert.deepEqual(await links('n1', 'n2/a'), [2, 3]);
    await ok(`rm -r ${fsys.mnt}/n2/a`);
    assert.deepEqual(await links('n1', 'n2'), [2, 2]);
  });

  it('appends, overwrites in place with dd conv=notrunc, and truncates', async () => {
    const data = testBytes(3 * STRIPE + 100, 'dd');
    const src = path.join(local, 'dd.bin');
    await fs.writeFile(src, data);
    await ok(`cp ${src} ${fsys.mnt}/dd.bin`);
    await ok(`printf 'PATCH' | dd of=${fsys.mnt}/dd.bin bs=1 seek=${STRIPE - 2} conv=notrunc status=none`);
    await ok(`printf 'TAIL' >> ${fsys.mnt}/dd.bin`);
    const expected = Buffer.concat([data, Buffer.from('TAIL')]);
    expected.write('PATCH', STRIPE - 2);
    assert.ok((await fs.readFile(fsys.at('dd.bin'))).equals(expected));
    await ok(`truncate -s 1000 ${fsys.mnt}/dd.bin`);
    assert.ok((await fs.readFile(fsys.at('dd.bin'))).equals(expected.subarray(0, 1000)));
    await ok(`truncate -s 5000 ${fsys.mnt}/dd.bin`);
    assert.ok((await fs.readFile(fsys.at('dd.bin'))).equals(Buffer.concat([expected.subarray(0, 1000), Buffer.alloc(4000)])));
  });

  /** Each part of a file as `index@offset+size:chunk`, from REST (the mount's inode number is the file's id). */
  const partsOf = async (name: string) => (await infoOf(fsys, name)).parts.map((p) => `${p.index}@${p.offset}+${p.size}:${p.chunk_id}`);
  const changedParts = (before: string[], after: string[]) => after.filter((p) => !before.includes(p)).map((p) => Number(p.split('@')[0]));

  it('a write into a large file, an append and a truncate store only the stripes they touch; growing leaves a hole', async () => {
    const data = testBytes(10 * STRIPE + 500, 'edits');
    await fs.writeFile(path.join(local, 'edits.bin'), data);
    await ok(`cp edits.bin ${fsys.mnt}/edits.bin`);
    const copied = await partsOf('edits.bin');
    assert.equal(copied.length, 11);

    await ok(`printf 'PATCH' | dd of=${fsys.mnt}/edits.bin bs=1 seek=${4 * STRIPE + 7} conv=notrunc status=none`);
    const patched = await partsOf('edits.bin');
    assert.deepEqual(changedParts(copied, patched), [4]);
    await ok(`echo appended >> ${fsys.mnt}/edits.bin`);
    const appended = await partsOf('edits.bin');
    assert.deepEqual(changedParts(patched, appended), [10]);
    const expected = Buffer.concat([data, Buffer.from('appended\n')]);
    expected.write('PATCH', 4 * STRIPE + 7);
    assert.ok((await fs.readFile(fsys.at('edits.bin'))).equals(expected));

    await ok(`truncate -s 1G ${fsys.mnt}/edits.bin`);
    const grown = await partsOf('edits.bin');
    assert.deepEqual(changedParts(appended, grown), [10], 'only the old last stripe is stored again; the rest of the gigabyte is a hole');
    assert.equal(grown.length, 11);
    assert.equal((await fs.stat(fsys.at('edits.bin'))).size, 1 << 30);
    // The attributes libfuse fetched while the file was open (blocks of its whole size) live for --cache-seconds (1 s).
    await waitUntil(async () => (await fs.stat(fsys.at('edits.bin'))).blocks === 11 * STRIPE / 512, 'du counts the 11 stripes stored, not the hole', 10_000);
    assert.ok(Buffer.from(await ok(`head -c ${expected.length} ${fsys.mnt}/edits.bin | base64 -w0`), 'base64').equals(expected));
    assert.equal(await ok(`dd if=${fsys.mnt}/edits.bin bs=1M skip=700 count=2 status=none | tr -d '\\0' | wc -c`), '0\n', 'the hole reads as zeros');

    await ok(`printf 'FAR' | dd of=${fsys.mnt}/edits.bin bs=1 seek=${(1 << 30) - 3} conv=notrunc status=none && truncate -s ${3 * STRIPE + 5} ${fsys.mnt}/edits.bin`);
    const cut = await partsOf('edits.bin');
    assert.deepEqual(cut.slice(0, 3), copied.slice(0, 3));
    assert.equal(cut.length, 4);
    assert.ok((await fs.readFile(fsys.at('edits.bin'))).equals(expected.subarray(0, 3 * STRIPE + 5)));

    await ok(`dd if=/dev/zero of=${fsys.mnt}/zeros.bin bs=64K count=40 status=none`);
    assert.deepEqual(await partsOf('zeros.bin'), [], 'a file of zeros stores nothing');
    assert.equal(await ok(`tr -d '\\0' < ${fsys.mnt}/zeros.bin | wc -c`), '0\n');
    assert.equal((await fs.stat(fsys.at('zeros.bin'))).size, 40 * 65536);
  });

  it('a file may reach 16 TiB less 4 KiB; a write, truncate or upload past that fails with "File too large" and changes nothing', async () => {
    const max = MAX_FILE_SIZE;
    await ok(`printf 'LAST' | dd of=${fsys.mnt}/huge.bin bs=1 seek=${max - 4} status=none`);
    assert.equal((await fs.stat(fsys.at('huge.bin'))).size, max);
    assert.deepEqual((await infoOf(fsys, 'huge.bin')).parts.map((p) => p.index), [Math.floor(max / STRIPE)], 'one stripe stored');
    for (const script of [
      `printf 'X' | dd of=${fsys.mnt}/huge.bin bs=1 seek=${max} conv=notrunc status=none`,
      `echo more >> ${fsys.mnt}/huge.bin`,
      `truncate -s ${max + 1} ${fsys.mnt}/huge.bin`,
    ]) {
      const r = await sh(script, { cwd: local });
      assert.notEqual(r.code, 0, script);
      assert.match(r.stderr, /File too large/, script);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${script}: one error, the close after it succeeds\n${r.stderr}`);
    }
    assert.equal((await fs.stat(fsys.at('huge.bin'))).size, max);
    assert.equal(await ok(`tail -c 5 ${fsys.mnt}/huge.bin | od -An -c | tr -s ' '`), ' \\0 L A S T\n');

    const upload = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      // A declared length is refused before the body is read: none is sent.
      const req = http.request(`${fsys.restUrl}/fs/too-big.bin`, { method: 'PUT', headers: { 'Content-Length': String(max + 1) } }, (res) => {
        let body = '';
        res.on('data', (piece) => { body += piece; }).on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject).flushHeaders();
    });
    assert.equal(upload.status, 413, upload.body);
    assert.equal((await fetch(`${fsys.restUrl}/fs/too-big.bin`)).status, 404);
  });

  it('an edit through an open file, with the file replaced over REST meanwhile, is stored whole over what it read', async () => {
    const data = testBytes(6 * STRIPE, 'edit-race');
    await fs.writeFile(path.join(local, 'race.bin'), data);
    await ok(`cp race.bin ${fsys.mnt}/race.bin`);
    const theirs = testBytes(6 * STRIPE, 'theirs');
    const file = await fs.open(fsys.at('race.bin'), 'r+');
    try {
      await file.write('MINE', 0);
      assert.equal((await fetch(`${fsys.restUrl}/fs/race.bin`, { method: 'PUT', body: theirs })).status, 200);
    } finally {
      await file.close();
    }
    const expected = Buffer.from(data);
    expected.write('MINE', 0);
    assert.ok((await fs.readFile(fsys.at('race.bin'))).equals(expected), 'the program\'s edit of what it opened is the last write');
  });

  it('a new file written out of order (not streamable) is uploaded whole at close', async () => {
    await ok(`printf 'END' | dd of=${fsys.mnt}/holes.bin bs=1 seek=${3 * STRIPE} status=none && printf 'START' | dd of=${fsys.mnt}/holes.bin bs=1 conv=notrunc status=none`);
    const expected = Buffer.alloc(3 * STRIPE + 3);
    expected.write('START', 0);
    expected.write('END', 3 * STRIPE);
    assert.ok((await fs.readFile(fsys.at('holes.bin'))).equals(expected));
  });

  it('a file streamed to the nodes keeps every byte when its writer reads it back and seeks back', async () => {
    const data = testBytes(3 * STRIPE + 1234, 'diverted');
    const handle = await fs.open(fsys.at('diverted.bin'), 'w+');
    try {
      const streamed = 2 * STRIPE + 100; // two whole stripes reach the nodes while writing
      for (let at = 0; at < streamed; at += 64 * 1024) await handle.write(data, at, Math.min(64 * 1024, streamed - at), at);
      const back = Buffer.alloc(200);
      assert.equal((await handle.read(back, 0, 200, STRIPE - 100)).bytesRead, 200);
      assert.ok(back.equals(data.subarray(STRIPE - 100, STRIPE + 100)), 'bytes read back from the stream');
      await handle.write(Buffer.from('XYZ'), 0, 3, 5);
      await handle.write(data, streamed, data.length - streamed, streamed);
    } finally {
      await handle.close();
    }
    const expected = Buffer.from(data);
    expected.write('XYZ', 5);
    assert.ok((await fs.readFile(fsys.at('diverted.bin'))).equals(expected));
  });

  /** WRITE requests the mount has received, and their bytes, wherever they were answered. */
  const fuseWrites = async () => {
    const metrics = await PrometheusText.scrape(fsys.restUrl);
    const sum = (name: string, labels: Record<string, string>) => metrics.samples(name, labels).reduce((n, s) => n + s.value, 0);
    return {
      ops: sum('raidfs_frontend_operations_total', { frontend: 'fuse', operation: 'write' }),
      bytes: sum('raidfs_frontend_bytes_total', { frontend: 'fuse', direction: 'in' }),
    };
  };

  it('a file past two stripes, its writes answered by the binding, shows its size, reads back, seeks back and is counted', async () => {
    const data = testBytes(5 * STRIPE + 4321, 'windowed');
    // Writes of 50,000 bytes straddle stripe boundaries, so some are split between a
    // full window (in JS) and the next; the rest the binding copies itself.
    const WRITE = 50_000;
    const streamed = 3 * STRIPE + 70_000;
    const writes = Math.ceil(streamed / WRITE) + 1 + Math.ceil((data.length - streamed) / WRITE);
    const before = await fuseWrites();
    const handle = await fs.open(fsys.at('windowed.bin'), 'w+');
    try {
      for (let at = 0; at < streamed; at += WRITE) await handle.write(data, at, Math.min(WRITE, streamed - at), at);
      await kernelCacheExpiry();
      await fs.readdir(fsys.mnt);
      assert.equal((await fs.stat(fsys.at('windowed.bin'))).size, streamed, 'the size counts the bytes in the window');
      const back = Buffer.alloc(300);
      assert.equal((await handle.read(back, 0, 300, 3 * STRIPE + 1000)).bytesRead, 300);
      assert.ok(back.equals(data.subarray(3 * STRIPE + 1000, 3 * STRIPE + 1300)), 'bytes read back from the window');
      await handle.write(Buffer.from('XYZ'), 0, 3, 2 * STRIPE + 10);
      for (let at = streamed; at < data.length; at += WRITE) await handle.write(data, at, Math.min(WRITE, data.length - at), at);
    } finally {
      await handle.close();
    }
    const expected = Buffer.from(data);
    expected.write('XYZ', 2 * STRIPE + 10);
    assert.ok((await fs.readFile(fsys.at('windowed.bin'))).equals(expected));
    const after = await fuseWrites();
    // The kernel may split a write that ends inside a page into two requests, so the count is at least one per write().
    assert.ok(after.ops - before.ops >= writes, `${after.ops - before.ops} write requests counted for ${writes} write() calls`);
    assert.equal(after.bytes - before.bytes, data.length + 3, 'every byte written counted once, wherever it was answered');
  });

  it('a write-only handle bypasses the page cache (one request per write), a read-write one does not', async () => {
    // Through the page cache, a write that starts inside a page the cache does not hold
    // whole goes out as two requests (that page's end, then the rest); with direct I/O
    // each write() is one request. 10,000-byte writes start inside a page from the second on.
    const WRITES = 10;
    const data = testBytes(WRITES * 10_000, 'uncached');
    const requestsFor = async (file: string, flags: string) => {
      const before = await fuseWrites();
      const handle = await fs.open(fsys.at(file), flags);
      try {
        for (let i = 0; i < WRITES; i++) await handle.write(data, i * 10_000, 10_000, i * 10_000);
      } finally {
        await handle.close();
      }
      assert.ok((await fs.readFile(fsys.at(file))).equals(data), `${file} reads back`);
      const after = await fuseWrites();
      assert.equal(after.bytes - before.bytes, data.length, `${file}: every byte counted once`);
      return after.ops - before.ops;
    };
    assert.equal(await requestsFor('write-only.bin', 'w'), WRITES, 'O_WRONLY: one request per write()');
    assert.ok(await requestsFor('read-write.bin', 'w+') > WRITES, 'O_RDWR goes through the page cache');
  });

  it('a handle that reads a part and then writes into it reads its own write back, not the part lent for reading', async () => {
    const data = testBytes(4 * STRIPE + 999, 'lent');
    await fs.writeFile(path.join(local, 'lent.bin'), data);
    await ok(`cp lent.bin ${fsys.mnt}/lent.bin && echo 3 > /proc/sys/vm/drop_caches`);
    const handle = await fs.open(fsys.at('lent.bin'), 'r+');
    try {
      const back = Buffer.alloc(1000);
      for (const at of [4 * STRIPE + 500, STRIPE + 150_000, STRIPE + 10]) { // the first is short: the file ends
        const { bytesRead } = await handle.read(back, 0, 1000, at);
        assert.equal(bytesRead, Math.min(1000, data.length - at));
        assert.ok(back.subarray(0, bytesRead).equals(data.subarray(at, at + bytesRead)), `bytes at ${at}`);
      }
      await handle.write(Buffer.from('NEW'), 0, 3, STRIPE + 200_000);
      await ok('echo 3 > /proc/sys/vm/drop_caches'); // the next read must reach the mount, not the page cache
      assert.equal((await handle.read(back, 0, 10, STRIPE + 199_998)).bytesRead, 10);
      const expected = Buffer.from(data.subarray(STRIPE + 199_998, STRIPE + 200_008));
      expected.write('NEW', 2);
      assert.ok(back.subarray(0, 10).equals(expected), `read back ${back.subarray(0, 10).toString('hex')}`);
    } finally {
      await handle.close();
    }
  });

  it('a streamed file fsynced and renamed while open ends up whole under its new name', async () => {
    const data = testBytes(2 * STRIPE + 777, 'fsynced');
    const half = STRIPE + 333;
    const handle = await fs.open(fsys.at('fsynced.bin'), 'w');
    try {
      await handle.write(data, 0, half, 0);
      await handle.sync();
      assert.ok((await fs.readFile(fsys.at('fsynced.bin'))).equals(data.subarray(0, half)), 'fsync committed the first half');
      await fs.rename(fsys.at('fsynced.bin'), fsys.at('renamed-open.bin'));
      await handle.write(data, half, data.length - half, half);
    } finally {
      await handle.close();
    }
    assert.ok((await fs.readFile(fsys.at('renamed-open.bin'))).equals(data));
    await assert.rejects(fs.stat(fsys.at('fsynced.bin')), { code: 'ENOENT' });
  });

  it('cp -a, rsync -a and tar x keep mode, owner and mtime (before 1970 too); touch -m and -a set one time only', async () => {
    await ok(`echo keep > keep.txt && chmod 640 keep.txt && chown 1234:5678 keep.txt && touch -d '2020-01-02 03:04:05' keep.txt
              cp -a keep.txt ${fsys.mnt}/keep.txt && mkdir -p rs/in && echo r > rs/in/r && touch -d '2019-05-06 07:08:09' rs/in/r
              echo old > rs/old && touch -d '1960-01-01 00:00:07 UTC' rs/old
              rsync -a rs/ ${fsys.mnt}/rs/`);
    const st = await fs.stat(fsys.at('keep.txt'));
    assert.equal(st.mode & 0o7777, 0o640);
    assert.deepEqual([st.uid, st.gid], [1234, 5678]);
    assert.equal(st.mtimeMs, Date.UTC(2020, 0, 2, 3, 4, 5));
    assert.equal((await fs.stat(fsys.at('rs/in/r'))).mtimeMs, Date.UTC(2019, 4, 6, 7, 8, 9));
    await ok(`diff -r rs ${fsys.mnt}/rs && tar -C ${local} -cf t.tar rs && mkdir ${fsys.mnt}/untar && tar -C ${fsys.mnt}/untar -xf t.tar && diff -r rs ${fsys.mnt}/untar/rs`);
    // tar sets the mtime of the file it still holds open with futimens and the atime
    // left as UTIME_OMIT; libfuse 2 dropped such a call unless told the binding takes it.
    assert.equal((await fs.stat(fsys.at('untar/rs/in/r'))).mtimeMs, Date.UTC(2019, 4, 6, 7, 8, 9));
    // A time before 1970 is a negative count, which the binding read as unsigned (and then as "omitted").
    for (const name of ['rs/old', 'untar/rs/old']) assert.equal((await fs.stat(fsys.at(name))).mtimeMs, Date.UTC(1960, 0, 1, 0, 0, 7), name);
    await ok(`touch -m -d '1969-12-31 23:59:59.999 UTC' ${fsys.mnt}/rs/old`);
    assert.equal((await fs.stat(fsys.at('rs/old'))).mtimeMs, -1);
    await ok(`touch -m -d '2018-01-01 00:00:01' ${fsys.mnt}/keep.txt`);
    const touchedM = await fs.stat(fsys.at('keep.txt'));
    assert.equal(touchedM.mtimeMs, Date.UTC(2018, 0, 1, 0, 0, 1));
    await ok(`touch -a -d '2017-01-01 00:00:01' ${fsys.mnt}/keep.txt`);
    const touchedA = await fs.stat(fsys.at('keep.txt'));
    assert.deepEqual([touchedA.atimeMs, touchedA.mtimeMs], [Date.UTC(2017, 0, 1, 0, 0, 1), Date.UTC(2018, 0, 1, 0, 0, 1)]);
  });

  it('symlinks, and clear errno for misuse (ENOTEMPTY, EEXIST, EISDIR, a directory\'s hard link EPERM)', async () => {
    await ok(`mkdir -p ${fsys.mnt}/s/d && echo target > ${fsys.mnt}/s/d/t && ln -s d/t ${fsys.mnt}/s/link`);
    assert.equal(await fs.readlink(fsys.at('s/link')), 'd/t');
    assert.equal(await fs.readFile(fsys.at('s/link'), 'utf8'), 'target\n');
    await assert.rejects(fs.rmdir(fsys.at('s/d')), { code: 'ENOTEMPTY' });
    await assert.rejects(fs.mkdir(fsys.at('s/d')), { code: 'EEXIST' });
    await assert.rejects(fs.unlink(fsys.at('s/d')), { code: 'EISDIR' });
    await assert.rejects(fs.link(fsys.at('s/d'), fsys.at('s/hard')), { code: 'EPERM' });
    await assert.rejects(fs.link(fsys.at('s/d/t'), fsys.at('s/link')), { code: 'EEXIST' });
    await assert.rejects(fs.readFile(fsys.at('s/missing')), { code: 'ENOENT' });
  });

  it('in a set-group-ID directory, new files, directories and symlinks take its group, and new directories the bit', async () => {
    await ok(`cd ${fsys.mnt} && mkdir sg && chgrp 1234 sg && chmod 2775 sg && touch sg/f && mkdir sg/d && ln -s f sg/l && mkdir -p sg/d/deep`);
    assert.equal(await ok(`cd ${fsys.mnt}/sg && stat -c '%n %u %g %A' f d l d/deep`),
      'f 0 1234 -rw-r--r--\nd 0 1234 drwxr-sr-x\nl 0 1234 lrwxrwxrwx\nd/deep 0 1234 drwxr-sr-x\n');
    await ok(`chmod g-s ${fsys.mnt}/sg && touch ${fsys.mnt}/sg/plain && stat -c %g ${fsys.mnt}/sg/plain | grep -qx 0`);
    await ok(`rm -r ${fsys.mnt}/sg`);
  });

  it('a write or O_TRUNC open by root (CAP_FSETID) keeps a file\'s set-ID bits', async () => {
    // The user's case, where they go, is in the suite of a mount run by a user who is not root.
    assert.equal(await ok(`cd ${fsys.mnt} && printf a > setid && chmod 6755 setid && printf b >> setid && printf c > setid && stat -c %a setid`), '6755\n');
  });

  it('hard links: ln gives a file a second name (one inode, one content), and cp -a, rsync -aH and tar x keep them', async () => {
    const inodeAndLinks = async (name: string) => (await ok(`stat -c '%i %h' ${fsys.mnt}/${name}`)).trim();
    await ok(`mkdir ${fsys.mnt}/hl && echo first > ${fsys.mnt}/hl/a && ln ${fsys.mnt}/hl/a ${fsys.mnt}/hl/b`);
    const [ino] = (await inodeAndLinks('hl/b')).split(' ');
    assert.equal(await inodeAndLinks('hl/b'), `${ino} 2`);
    // Each name is an inode of its own to the kernel (libfuse 2 gives every path its
    // own node), so what it caches of one name sees a change made through the other
    // once the mount's attribute time (1 s here) has passed.
    const within = (what: string, check: () => Promise<boolean>) => waitUntil(check, what, 3_000);
    await within('the first name shows two links', async () => await inodeAndLinks('hl/a') === `${ino} 2`);
    // Over REST, a file reached by its second name is named by it.
    const byLink = await fetch(`${fsys.restUrl}/fs/hl/b`, { method: 'PUT', body: 'first\n' });
    const linked = (await byLink.json()) as { id: number; filename: string; path: string };
    assert.deepEqual([linked.id, linked.filename, linked.path], [Number(ino), 'b', '/hl/b']);
    await ok(`echo second > ${fsys.mnt}/hl/b`);
    await within('the write through one name reads back through the other', async () => await ok(`cat ${fsys.mnt}/hl/a`) === 'second\n');
    await ok(`chmod 600 ${fsys.mnt}/hl/a`);
    await within('a mode set through one name shows through the other', async () => (await ok(`stat -c %a ${fsys.mnt}/hl/b`)).trim() === '600');
    await ok(`rm ${fsys.mnt}/hl/a`);
    await within('the file lives on under its other name, with one link', async () => await inodeAndLinks('hl/b') === `${ino} 1`);
    assert.equal(await ok(`cat ${fsys.mnt}/hl/b`), 'second\n');

    // A file created to append (>>) appends, after what a handle through another name
    // appended: the kernel's offsets for it are its own name's idea of the end.
    assert.equal(await ok(`cd ${fsys.mnt}/hl && exec 3>>log && printf 1 >&3 && ln log log2 && printf 2 >> log2 && printf 3 >&3 && exec 3>&- && cat log`), '123');

    // Trees with hard links, as cp -a, rsync -aH and tar copy them (they used to fail on link()).
    await ok(`mkdir -p links/d && head -c 300000 /dev/urandom > links/big && ln links/big links/d/big2
              echo small > links/small && ln links/small links/small2 && tar -cf links.tar links`);
    await ok(`cp -a links ${fsys.mnt}/hl/cp && rsync -aH links/ ${fsys.mnt}/hl/rsync/ && mkdir ${fsys.mnt}/hl/tar && tar -C ${fsys.mnt}/hl/tar -xf links.tar`);
    for (const copy of ['cp', 'rsync', 'tar/links']) {
      await ok(`diff -r links ${fsys.mnt}/hl/${copy}`);
      for (const pair of [['big', 'd/big2'], ['small', 'small2']]) {
        await within(`${copy}: ${pair.join(' and ')} are one inode with two links`, async () => {
          const [one, other] = await Promise.all(pair.map((name) => inodeAndLinks(`hl/${copy}/${name}`)));
          return one === other && one.endsWith(' 2');
        });
      }
    }
    const du = async (options: string) => Number((await ok(`du -s --block-size=1 ${options} ${fsys.mnt}/hl/cp`)).split('\t')[0]);
    // Blocks are whole 512-byte units of the bytes stored: 300000 -> 300032, 'small\n' -> 512.
    assert.equal(await du('--count-links') - await du(''), 300032 + 512, 'du counts a linked file once');
    // DELETE /files/ID removes the file under both names.
    const { ino: big } = await fs.stat(fsys.at('hl/cp/big'));
    assert.equal((await fetch(`${fsys.restUrl}/files/${big}`, { method: 'DELETE' })).status, 200);
    assert.deepEqual([(await fs.readdir(fsys.at('hl/cp'))).sort(), await fs.readdir(fsys.at('hl/cp/d'))], [['d', 'small', 'small2'], []]);
    await ok(`rm -r ${fsys.mnt}/hl`);
  });

  it('a name that is not UTF-8 is refused with EILSEQ and changes nothing; a UTF-8 one works', async () => {
    // Two different invalid names used to become one U+FFFD name: the second create replaced the first.
    const raw = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    const dir = fsys.at('names');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'keep'), 'kept\n');
    await fs.writeFile(raw(dir, '/caf', [0xc3, 0xa9]), 'utf-8 name\n');
    for (const bad of [[0xff], [0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      const name = raw(dir, '/bad', bad);
      await assert.rejects(fs.writeFile(name, 'lost?'), { code: 'EILSEQ' }, `create ${Buffer.from(bad).toString('hex')}`);
      await assert.rejects(fs.mkdir(name), { code: 'EILSEQ' });
      await assert.rejects(fs.rename(path.join(dir, 'keep'), name), { code: 'EILSEQ' });
      await assert.rejects(fs.symlink(raw('target', bad), path.join(dir, 'link')), { code: 'EILSEQ' });
    }
    assert.deepEqual((await fs.readdir(dir)).sort(), ['café', 'keep']);
    assert.equal(await fs.readFile(path.join(dir, 'keep'), 'utf8'), 'kept\n');
    assert.equal(await fs.readFile(raw(dir, '/caf', [0xc3, 0xa9]), 'utf8'), 'utf-8 name\n');
    const r = await sh(`echo x > ${dir}/$'bad\\xff'`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Invalid or incomplete multibyte or wide character/);
  });

  it('an editor-style save (temp file, fsync, rename over the original) replaces the content', async () => {
    await fs.writeFile(fsys.at('doc.txt'), 'version 1\n');
    const tmp = fsys.at('.doc.txt.swp');
    const handle = await fs.open(tmp, 'w');
    await handle.write('version 2\n');
    await handle.sync();
    await handle.close();
    await fs.rename(tmp, fsys.at('doc.txt'));
    assert.equal(await fs.readFile(fsys.at('doc.txt'), 'utf8'), 'version 2\n');
    assert.deepEqual((await fs.readdir(fsys.mnt)).filter((n) => n.includes('swp')), []);
  });

  it('a file saved by renaming a new one over it opens, fstats and stats without error throughout, as on a local disk', async () => {
    // The kernel may ask about the file it looked up just before a rename replaced it;
    // libfuse 2 then has no name for it (native/lost-name-retry.c): 20-38 % of these
    // opens failed with ENOENT, and 1-3 % of the fstat calls after them.
    const r = await sh(`echo v0 > conf
      ( for i in $(seq 300); do echo v$i > conf.tmp && mv conf.tmp conf || exit 1; done ) & writer=$!
      reads=0; failed=0
      while kill -0 $writer 2>/dev/null; do
        reads=$((reads + 1))
        cat conf > /dev/null && stat -c %s conf > /dev/null || failed=$((failed + 1))
      done
      wait $writer || echo "the writer failed" >&2
      echo $reads $failed`, { cwd: fsys.mnt });
    assert.equal(r.stderr, '');
    const [reads, failed] = r.stdout.trim().split(' ').map(Number);
    assert.ok(reads >= 50, `only ${reads} reads while the file was replaced 300 times`);
    assert.equal(failed, 0, `${failed} of ${reads} cat or stat failed`);
    assert.match(await fs.readFile(fsys.at('conf'), 'utf8'), /^v300\n$/);
    await fs.unlink(fsys.at('conf'));
  });

  it('a file unlinked while open stays readable by the program holding it', async () => {
    const data = testBytes(3 * STRIPE, 'unlinked');
    await fs.writeFile(fsys.at('gone.bin'), data);
    const handle = await fs.open(fsys.at('gone.bin'), 'r');
    await fs.unlink(fsys.at('gone.bin'));
    await assert.rejects(fs.stat(fsys.at('gone.bin')), { code: 'ENOENT' });
    const back = Buffer.alloc(data.length);
    await handle.read(back, 0, data.length, 0);
    await handle.close();
    assert.ok(back.equals(data));
  });

  it('rm -r of a directory with files still open in it succeeds; their programs read and write on and close without error', async () => {
    const data = testBytes(2 * STRIPE + 5, 'open-in-dir');
    await fs.mkdir(fsys.at('busy/deeper'), { recursive: true });
    await fs.writeFile(fsys.at('busy/deeper/read.bin'), data);
    const reader = await fs.open(fsys.at('busy/deeper/read.bin'), 'r');
    const writer = await fs.open(fsys.at('busy/log.txt'), 'w');
    try {
      await writer.write('line 1\n');
      await ok(`rm -r ${fsys.mnt}/busy`); // libfuse hid both files as .fuse_hidden* in their directories
      await assert.rejects(fs.stat(fsys.at('busy')), { code: 'ENOENT' });
      const back = Buffer.alloc(data.length + 100);
      assert.equal((await reader.read(back, 0, back.length, 0)).bytesRead, data.length);
      assert.ok(back.subarray(0, data.length).equals(data));
      // fstat answers from the handle, though libfuse 2 has no name for the file any more.
      const stat = await reader.stat();
      assert.deepEqual([stat.size, stat.nlink], [data.length, 0]);
      await writer.write('line 2\n');
    } finally {
      await reader.close();
      await writer.close();
    }
    assert.deepEqual((await fs.readdir(fsys.mnt)).filter((n) => n.startsWith('.fuse_hidden') || n === 'busy'), []);
    await fs.mkdir(fsys.at('busy'));
    assert.deepEqual(await fs.readdir(fsys.at('busy')), [], 'a directory made under the name again is new');

    // A file that only looks hidden (no program holds it) is a file like any other.
    await fs.writeFile(fsys.at('busy/.fuse_hidden0123456789abcdef'), 'mine');
    await assert.rejects(fs.rmdir(fsys.at('busy')), { code: 'ENOTEMPTY' });
    assert.equal(await fs.readFile(fsys.at('busy/.fuse_hidden0123456789abcdef'), 'utf8'), 'mine');
    await ok(`rm -r ${fsys.mnt}/busy`);
  });

  it('a file deleted over REST while a program reads it stays readable by that program, to its end', async () => {
    const data = testBytes(STRIPE + 300, 'deleted-while-read');
    await fs.writeFile(fsys.at('rest-gone.bin'), data);
    const handle = await fs.open(fsys.at('rest-gone.bin'), 'r');
    try {
      assert.equal((await fetch(`${fsys.restUrl}/fs/rest-gone.bin`, { method: 'DELETE' })).status, 204);
      // Asking for more than is left makes the kernel check the size with the handle (fgetattr).
      const back = Buffer.alloc(data.length + 4096);
      assert.equal((await handle.read(back, 0, back.length, 0)).bytesRead, data.length);
      assert.ok(back.subarray(0, data.length).equals(data));
      const stat = await handle.stat(); // the kernel asks by node; raidfs answers from the handle
      assert.deepEqual([stat.size, stat.nlink], [data.length, 0]);
    } finally {
      await handle.close();
    }
    await assert.rejects(fs.stat(fsys.at('rest-gone.bin')), { code: 'ENOENT' });
  });

  it('a file opened while another program overwrites it reads whole: the old content, then the new after the close', async () => {
    const before = testBytes(3 * STRIPE + 100, 'overwritten-old');
    await fs.writeFile(path.join(local, 'old.bin'), before);
    await fs.writeFile(path.join(local, 'new.bin'), testBytes(3 * STRIPE + 200, 'overwritten-new'));
    await fs.writeFile(fsys.at('overwritten.bin'), before);
    // The writer is a program of its own: a program that forks while it holds the file
    // (this test spawning cat) would close the child's copy of it, which commits.
    const writer = spawn(process.execPath, ['-e', `
      const fs = require('fs');
      const data = fs.readFileSync('new.bin');
      const fd = fs.openSync(${JSON.stringify(fsys.at('overwritten.bin'))}, 'w'); // O_TRUNC, as cp does
      fs.writeSync(fd, data, 0, ${STRIPE + 7}, 0);
      console.log('half');
      process.stdin.once('data', () => {
        fs.writeSync(fd, data, ${STRIPE + 7}, data.length - ${STRIPE + 7}, ${STRIPE + 7});
        fs.closeSync(fd);
        process.exit(0);
      });`], { cwd: local, stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => writer.on('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        writer.stdout.once('data', () => resolve());
        writer.once('exit', (code) => reject(new Error(`writer exited (${code}) before writing`)));
      });
      // The kernel holds the size written so far for the file; cat reads until EOF.
      await ok(`cat ${fsys.mnt}/overwritten.bin > during.bin && cmp during.bin old.bin`);
      writer.stdin.write('go\n');
      assert.equal(await exited, 0);
    } finally {
      writer.kill('SIGKILL');
    }
    await ok(`cat ${fsys.mnt}/overwritten.bin > done.bin && cmp done.bin new.bin`);
  });

  it('the page cache never hands a reader another version: not an edit in progress, not what an old reader cached, not a same-size, same-mtime replace', async () => {
    const file = fsys.at('cached.bin');
    const v1 = testBytes(2 * STRIPE + 300, 'cache-v1');
    await fs.writeFile(file, v1);
    const reader = await fs.open(file, 'r');
    const readAll = async () => {
      const into = Buffer.alloc(v1.length);
      const { bytesRead } = await reader.read(into, 0, into.length, 0);
      return into.subarray(0, bytesRead);
    };
    const edit = Buffer.alloc(100_000, 0x58);
    const v2 = Buffer.from(v1);
    edit.copy(v2, 1000);
    try {
      assert.ok((await readAll()).equals(v1));
      // An edit in place (O_RDWR: through the page cache), not closed yet.
      const editor = await fs.open(file, 'r+');
      await editor.write(edit, 0, edit.length, 1000);
      assert.ok((await readAll()).equals(v1), 'the reader sees none of the uncommitted edit');
      await editor.close();
      assert.ok((await readAll()).equals(v1), 'the reader reads the version it opened, after the commit too');
      assert.ok((await fs.readFile(file)).equals(v2), 'a program opening the file now reads the edit, not the pages the old reader cached');
    } finally {
      await reader.close();
    }
    assert.ok((await fs.readFile(file)).equals(v2), 'and so does one opening it after the old reader closed');
    // The same size and mtime as the cached version: only the version tells them apart.
    const v3 = testBytes(v2.length, 'cache-v3');
    const { mtime } = await fs.stat(file);
    await fs.writeFile(file, v3);
    await fs.utimes(file, mtime, mtime);
    assert.ok((await fs.readFile(file)).equals(v3), 'a replace with the same size and mtime is read, not the cached pages');
  });

  it('tail -f follows a file of several stripes that other programs append to', async () => {
    const log = `${fsys.mnt}/follow.log`;
    await ok(`seq 1 200000 > ${log}`); // 1.2 MB: several parts, the last one lent to the binding
    const waitFor = (text: string) => `for i in $(seq 100); do grep -q '${text}' out && break; sleep 0.1; done; grep -q '${text}' out`;
    const out = await ok(`timeout 30 tail -s 0.1 -n 1 -f ${log} > out & T=$!
      ${waitFor('200000')} && echo appended-1 >> ${log} && ${waitFor('appended-1')} && echo appended-2 >> ${log} && ${waitFor('appended-2')}; r=$?
      kill $T; cat out; exit $r`);
    assert.equal(out, '200000\nappended-1\nappended-2\n');
  });

  it('a reader past the end of its version does not read on into a version that replaced it, only into one that grew from it', async () => {
    const file = fsys.at('replaced.bin');
    const v1 = testBytes(2 * STRIPE + 1000, 'grow-v1');
    await fs.writeFile(file, v1);
    const reader = await fs.open(file, 'r');
    try {
      const readOn = async (from: number) => {
        const pieces: Buffer[] = [];
        for (let at = from; ;) {
          const { bytesRead, buffer } = await reader.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, at);
          if (bytesRead === 0) return Buffer.concat(pieces);
          pieces.push(buffer.subarray(0, bytesRead));
          at += bytesRead;
        }
      };
      assert.ok((await readOn(0)).equals(v1));
      // A replace, longer, with other bytes: reading on would give its tail after v1.
      const v2 = testBytes(4 * STRIPE, 'grow-v2');
      await fs.writeFile(file, v2);
      assert.equal((await readOn(v1.length)).length, 0, 'the reader stays at the end of what it read');
      assert.ok((await readOn(0)).equals(v1), 'and still reads its own version');
      assert.ok((await fs.readFile(file)).equals(v2), 'a new open reads the replace');
      // The same bytes as v1 and more (an append, written whole by another program): read on.
      const v3 = Buffer.concat([v1, testBytes(STRIPE, 'grow-v3')]);
      await fs.writeFile(file, v3);
      assert.ok((await readOn(v1.length)).equals(v3.subarray(v1.length)), 'a version that only grew from the reader\'s is read on');
    } finally {
      await reader.close();
    }
    // A reader that has read nothing yet, and a truncate(2) that grows the file: zeros up to the new size.
    await fs.writeFile(file, 'short');
    const early = await fs.open(file, 'r');
    try {
      await ok(`perl -e 'truncate("${file}", ${3 * STRIPE}) or die "$!"'`);
      const { bytesRead, buffer } = await early.read(Buffer.alloc(10, 1), 0, 10, STRIPE + 5);
      assert.ok(buffer.subarray(0, bytesRead).equals(Buffer.alloc(10)), `zeros inside the new size (${bytesRead} bytes read)`);
    } finally {
      await early.close();
    }
  });

  it('a program reads its own uncommitted writes through new handles (any of its threads); other programs read the committed version', async () => {
    const file = fsys.at('own-writes.bin');
    const old = testBytes(3 * STRIPE, 'own-old');
    await fs.writeFile(file, old);
    // A separate program: edits the file through one descriptor, reads it back through
    // new ones (its main thread and a worker thread), then waits before closing.
    const script = `
      const fs = require('node:fs');
      const { Worker } = require('node:worker_threads');
      const file = process.argv[1];
      const edit = Buffer.alloc(70000, 0x58);
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, edit, 0, edit.length, 1000);
      const readAt = (at) => { const r = fs.openSync(file, 'r'); const b = Buffer.alloc(8); fs.readSync(r, b, 0, 8, at); fs.closeSync(r); return b.toString('latin1'); };
      const worker = new Worker("const fs = require('node:fs'); const { parentPort, workerData } = require('node:worker_threads'); const r = fs.openSync(workerData, 'r'); const b = Buffer.alloc(8); fs.readSync(r, b, 0, 8, 2000); fs.closeSync(r); parentPort.postMessage(b.toString('latin1'));", { eval: true, workerData: file });
      worker.once('message', (fromWorker) => {
        console.log(JSON.stringify({ main: readAt(1000), worker: fromWorker }));
        process.stdin.once('data', () => { fs.closeSync(fd); process.exit(0); });
      });`;
    const child = spawn(process.execPath, ['-e', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (data: Buffer) => resolve(data.toString()));
        child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before reading`)));
      });
      assert.deepEqual(JSON.parse(line), { main: 'XXXXXXXX', worker: 'XXXXXXXX' }, 'the writing program reads what it wrote');
      assert.ok((await fs.readFile(file)).equals(old), 'another program reads the committed version meanwhile');
      child.stdin.end('close\n');
      assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
    } finally {
      child.kill('SIGKILL');
    }
    const expected = Buffer.from(old);
    expected.fill(0x58, 1000, 71000);
    assert.ok((await fs.readFile(file)).equals(expected), 'and the edit once it closed');
    // git's index-pack writes the pack through one descriptor and reads it back through new ones.
    await ok(`rm -rf repo && git init -q repo && cp -r ${path.resolve(__dirname, '../../src/fuse')} repo/ && git -C repo add . &&
              git -C repo -c user.name=t -c user.email=t@t commit -qm files && git clone -q --no-local repo ${fsys.mnt}/clone &&
              git -C ${fsys.mnt}/clone fsck && diff -r repo/fuse ${fsys.mnt}/clone/fuse && rm -rf ${fsys.mnt}/clone`);
  });

  it('a file being written shows its last write as mtime and ctime, and keeps them after close; tar c right after tar x sees no change', async () => {
    const file = fsys.at('mtime.log');
    const script = `
      const fs = require('node:fs');
      const fd = fs.openSync(process.argv[1], 'w');
      fs.writeSync(fd, 'first line\\n');
      console.log('written');
      process.stdin.once('data', () => { fs.closeSync(fd); process.exit(0); });`;
    const before = Date.now();
    let mtime: number;
    let ctime: number;
    const child = spawn(process.execPath, ['-e', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before writing`)));
      });
      const written = Date.now();
      ({ mtimeMs: mtime, ctimeMs: ctime } = await fs.stat(file));
      assert.ok(mtime >= before - 1 && mtime <= written + 1, `mtime ${mtime} is the write's, between ${before} and ${written}`);
      assert.equal(ctime, mtime);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // past the kernel's attribute cache (1 s)
      const again = await fs.stat(file);
      assert.deepEqual([again.mtimeMs, again.ctimeMs], [mtime, ctime], 'nothing was written since: the times stay');
      child.stdin.end('close\n');
      assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await fs.stat(file);
    assert.equal(after.size, 11);
    assert.equal(after.mtimeMs, mtime, 'the commit at close records the last write\'s time, not its own');
    assert.equal(after.ctimeMs, ctime, 'and its ctime');
    // tar x sets times and owner through the open file before closing it: its close must not change the ctime.
    await ok(`rm -rf tarred && mkdir tarred && head -c 5000 /dev/urandom > tarred/small && head -c 700000 /dev/urandom > tarred/large &&
              tar -C tarred -cf tarred.tar . && mkdir ${fsys.mnt}/untarred && tar -C ${fsys.mnt}/untarred -xpf tarred.tar`);
    const ctimes = async () => Promise.all(['small', 'large'].map(async (name) => (await fs.stat(fsys.at(`untarred/${name}`))).ctimeMs));
    const extracted = await ctimes();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(await ctimes(), extracted, 'the ctimes stay once tar x is done');
    await ok(`tar -C ${fsys.mnt}/untarred -cf - . > /dev/null && rm -r ${fsys.mnt}/untarred`);
  });

  it('a read moves the access time as relatime does: after a change, not on a reread; mtime and ctime stay', async () => {
    const file = fsys.at('atime.txt');
    const pastCache = () => new Promise((resolve) => setTimeout(resolve, 1500)); // the kernel's attribute cache (1 s)
    await ok(`printf 'some text' > ${file} && touch -a -d @1000000000 ${file}`);
    await pastCache();
    const before = await fs.stat(file);
    assert.equal(before.atimeMs, 1_000_000_000_000);
    const readAt = Date.now();
    assert.equal(await ok(`cat ${file}`), 'some text');
    await pastCache();
    const read = await fs.stat(file);
    assert.ok(read.atimeMs >= readAt - 1 && read.atimeMs <= Date.now(), `atime ${read.atimeMs} is the read's (after ${readAt})`);
    assert.deepEqual([read.mtimeMs, read.ctimeMs], [before.mtimeMs, before.ctimeMs], 'a read changes neither mtime nor ctime');
    // A download reaches the controller whatever the kernel caches: nothing changed since the last read.
    const download = await fetch(`${fsys.restUrl}/fs/atime.txt`);
    assert.equal(await download.text(), 'some text');
    await pastCache();
    assert.equal((await fs.stat(file)).atimeMs, read.atimeMs, 'a reread does not move it');
    // An append changes the content: the next read moves it again.
    await ok(`printf ' and more' >> ${file}`);
    const appended = (await fs.stat(file)).mtimeMs;
    assert.equal(await ok(`cat ${file}`), 'some text and more');
    await pastCache();
    const reread = await fs.stat(file);
    assert.ok(reread.atimeMs >= appended, `atime ${reread.atimeMs} is after the append (${appended})`);
    assert.equal(reread.mtimeMs, appended);
  });

  it('a truncate by path commits at once while handles open for writing have nothing uncommitted', async () => {
    const file = fsys.at('cut.bin');
    const data = testBytes(100, 'cut');
    await fs.writeFile(file, data);
    const writer = await fs.open(file, 'r+');
    try {
      await writer.write(Buffer.from('edited'), 0, 6, 0);
      await writer.sync(); // committed: the handle's copy holds nothing uncommitted
      await ok(`perl -e 'truncate("${file}", 50) or die "$!"'`); // truncate(2) by path (Node's and coreutils' truncate open the file)
      const overRest = Buffer.from(await (await fetch(`${fsys.restUrl}/fs/cut.bin`)).arrayBuffer());
      assert.ok(overRest.equals(Buffer.concat([Buffer.from('edited'), data.subarray(6, 50)])), `REST reads the truncated file at once (${overRest.length} bytes)`);
    } finally {
      await writer.close();
    }
    assert.equal((await fs.stat(file)).size, 50);
  });

  it('a file deleted over REST while a program writes it stays deleted after its close, and a new file there is kept', async () => {
    await fs.writeFile(fsys.at('deleted.log'), 'before\n');
    const handle = await fs.open(fsys.at('deleted.log'), 'a');
    try {
      await handle.write('written\n');
      assert.equal((await fetch(`${fsys.restUrl}/fs/deleted.log`, { method: 'DELETE' })).status, 204);
      assert.equal((await fetch(`${fsys.restUrl}/fs/deleted.log`, { method: 'PUT', body: 'new file\n' })).status, 201);
      await handle.write('after the delete\n');
    } finally {
      await handle.close();
    }
    assert.equal(await fs.readFile(fsys.at('deleted.log'), 'utf8'), 'new file\n');
    await fs.unlink(fsys.at('deleted.log'));
  });

  it('four files written concurrently all read back identical', async () => {
    await ok(`for i in 1 2 3 4; do head -c $((900000 + i * 111111)) /dev/urandom > c$i; done`);
    await ok(`for i in 1 2 3 4; do cp c$i ${fsys.mnt}/c$i & done; wait; for i in 1 2 3 4; do cmp c$i ${fsys.mnt}/c$i || exit 1; done`);
  });

  it('two shells appending to one file at the same time keep every line, each in its order (a small file and one of stripes)', async () => {
    // A large file is stored as an edit (only the stripes written), a small one whole: both must keep every line.
    const start = Array.from({ length: Math.ceil(3 * STRIPE / 10) }, (_, i) => `${i}`.padStart(9, '0')).join('\n') + '\n';
    await fs.writeFile(path.join(local, 'striped.log'), start);
    await ok(`cp striped.log ${fsys.mnt}/striped.log`);
    for (const [name, before] of [['shared.log', ''], ['striped.log', start]]) {
      await ok(`for p in A B; do (for i in $(seq 100); do echo $p$i >> ${fsys.mnt}/${name} || exit 1; done) & done; wait`);
      const text = await fs.readFile(fsys.at(name), 'utf8');
      assert.ok(text.startsWith(before));
      const lines = text.slice(before.length).trim().split('\n');
      assert.equal(lines.length, 200, name);
      for (const p of ['A', 'B']) assert.deepEqual(lines.filter((l) => l.startsWith(p)), Array.from({ length: 100 }, (_, i) => `${p}${i + 1}`));
    }
  });

  it('two handles writing one file see each other\'s writes, and closing both keeps both', async () => {
    const data = testBytes(3 * STRIPE, 'two-writers');
    await fs.writeFile(fsys.at('two.bin'), data);
    const first = await fs.open(fsys.at('two.bin'), 'r+');
    const second = await fs.open(fsys.at('two.bin'), 'r+');
    try {
      await first.write(Buffer.from('FIRST'), 0, 5, 10);
      await second.write(Buffer.from('SECOND'), 0, 6, 2 * STRIPE + 10);
      const seen = Buffer.alloc(5);
      await second.read(seen, 0, 5, 10);
      assert.equal(seen.toString(), 'FIRST', 'the second handle reads the first one\'s write');
      await first.close();
      await second.write(Buffer.from('LAST'), 0, 4, STRIPE);
    } finally {
      await first.close().catch(() => undefined);
      await second.close();
    }
    const expected = Buffer.from(data);
    expected.write('FIRST', 10);
    expected.write('SECOND', 2 * STRIPE + 10);
    expected.write('LAST', STRIPE);
    assert.ok((await fs.readFile(fsys.at('two.bin'))).equals(expected));
  });

  it('df counts the file system the 4 nodes share once, halved for the 2 copies of every byte', async () => {
    const [bsize, blocks, avail] = (await ok(`stat -f -c '%S %b %a' ${fsys.mnt}`)).trim().split(' ').map(Number);
    const disk = await fs.statfs(fsys.dir);
    assert.equal(bsize * blocks, Math.floor((disk.blocks * disk.bsize) / 2 / bsize) * bsize);
    // Free: half of what the nodes may still fill, all but the end of the disk they leave free.
    const halfFree = (disk.bavail * disk.bsize - keptFree(disk.blocks * disk.bsize)) / 2;
    assert.ok(Math.abs(bsize * avail - halfFree) < 64 * 2 ** 20, `df's free ${bsize * avail} is about half the disk's usable free, ${halfFree}`);
  });

  it('df -i counts every file, directory and symlink in the tree as a used inode, once whatever its names', async () => {
    const usedInodes = async () => {
      const [total, free] = (await ok(`stat -f -c '%c %d' ${fsys.mnt}`)).trim().split(' ').map(Number);
      return total - free;
    };
    const entries = Number((await ok(`find ${fsys.mnt} -printf '%i\\n' | sort -u | wc -l`)).trim()); // the root included, each inode once
    assert.equal(await usedInodes(), entries);
    await ok(`mkdir ${fsys.mnt}/inodes && touch ${fsys.mnt}/inodes/a && ln -s a ${fsys.mnt}/inodes/b && ln ${fsys.mnt}/inodes/a ${fsys.mnt}/inodes/c`);
    assert.equal(await usedInodes(), entries + 3, 'a hard link is no inode of its own');
    await ok(`rm -r ${fsys.mnt}/inodes`);
    assert.equal(await usedInodes(), entries);
  });

  it('a file PUT over REST shows in the mount, and a file copied into the mount is listed and served by REST', async () => {
    const viaRest = testBytes(3 * STRIPE + 11, 'rest-to-mount');
    const put = await fetch(`${fsys.restUrl}/fs/from-rest/in.bin`, { method: 'PUT', body: viaRest });
    assert.equal(put.status, 201);
    assert.ok((await fs.readFile(fsys.at('from-rest/in.bin'))).equals(viaRest));

    const viaMount = testBytes(2 * STRIPE + 5, 'mount-to-rest');
    await fs.writeFile(path.join(local, 'm2r.bin'), viaMount);
    await ok(`cp m2r.bin ${fsys.mnt}/from-rest/m2r.bin`);
    const { files } = await (await fetch(`${fsys.restUrl}/files`)).json() as { files: Array<{ id: number; path: string; size: number }> };
    const listed = files.find((f) => f.path === '/from-rest/m2r.bin');
    assert.equal(listed?.size, viaMount.length);
    assert.equal(listed?.id, (await fs.stat(fsys.at('from-rest/m2r.bin'))).ino, 'REST ids are the mount\'s inode numbers');
    assert.ok(Buffer.from(await (await fetch(`${fsys.restUrl}/files/${listed!.id}`)).arrayBuffer()).equals(viaMount));
    assert.ok(Buffer.from(await (await fetch(`${fsys.restUrl}/fs/from-rest/m2r.bin`)).arrayBuffer()).equals(viaMount));
    assert.equal((await fetch(`${fsys.restUrl}/files/${listed!.id}`, { method: 'DELETE' })).status, 200);
    // The kernel may answer from its entry cache for up to --cache-seconds (1 s).
    const deadline = Date.now() + 10_000;
    while (await fs.stat(fsys.at('from-rest/m2r.bin')).then(() => true, () => false)) {
      assert.ok(Date.now() < deadline, 'deleted over REST, still in the mount after 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  /** getattr calls that reached JS, and those the binding answered from a readdir's attributes. */
  const getattrCounts = async () => {
    const metrics = await PrometheusText.scrape(fsys.restUrl);
    const sum = (name: string, labels = {}) => metrics.samples(name, labels).reduce((n, s) => n + s.value, 0);
    return { inJs: sum('raidfs_frontend_operations_total', { frontend: 'fuse', operation: 'getattr' }), fromReaddir: sum('raidfs_fuse_attr_cache_hits_total') };
  };
  const unsyncedCommits = async () => (await PrometheusText.scrape(fsys.restUrl)).value('raidfs_metadata_unsynced_commits');

  it('a directory too large for one listing call is listed in pages: every name once, with attributes; rm -r removes it', async () => {
    const dirs = WHOLE_LISTING_MAX + 100;
    await ok(`mkdir ${fsys.mnt}/wide && cd ${fsys.mnt}/wide && mkdir $(seq -f d%g 1 ${dirs}) && echo data > f`);
    const readdirCalls = async () => (await PrometheusText.scrape(fsys.restUrl)).samples('raidfs_frontend_operations_total', { frontend: 'fuse', operation: 'readdir' })
      .reduce((n, s) => n + s.value, 0);
    const before = await readdirCalls();
    const listed = (await ok(`ls -f ${fsys.mnt}/wide`)).trim().split('\n');
    assert.ok(await readdirCalls() - before >= 2, 'listed in more than one call');
    assert.equal(listed.length, dirs + 3, 'every name: ., .., the directories and f');
    assert.equal(new Set(listed).size, listed.length, 'no name twice');
    const long = await ok(`ls -l ${fsys.mnt}/wide`);
    assert.match(long, /^-\S+\s+1 .*\s5 .* f$/m);
    assert.equal(long.match(/^d\S+\s+2 .* d\d+$/gm)?.length, dirs);
    assert.equal((await ok(`stat -c %h ${fsys.mnt}/wide`)).trim(), String(dirs + 2));
    await ok(`rm -r ${fsys.mnt}/wide`);
    await assert.rejects(fs.stat(fsys.at('wide')), { code: 'ENOENT' });
  });

  it('close leaves the metadata commit to the sync delay, and fsync(2) of the file or its directory makes it durable before it returns', async () => {
    await fs.writeFile(path.join(local, 'sync.txt'), 'synced');
    await ok(`cp sync.txt ${fsys.mnt}/sync.txt`);
    const afterClose = await unsyncedCommits();
    assert.ok(afterClose >= 1, `close left the commit unsynced (${afterClose})`);
    const handle = await fs.open(fsys.at('sync.txt'), 'r');
    await handle.sync();
    await handle.close();
    assert.equal(await unsyncedCommits(), 0, 'fsync synced every commit');
    assert.equal(await fs.readFile(fsys.at('sync.txt'), 'utf8'), 'synced');
    // A file's entry made durable the way careful programs do it: fsync of its directory.
    await ok(`cp sync.txt ${fsys.mnt}/sync-dir.txt`);
    assert.ok(await unsyncedCommits() >= 1, 'close left the commit unsynced');
    const dir = await fs.open(fsys.mnt, 'r');
    await dir.sync();
    await dir.close();
    assert.equal(await unsyncedCommits(), 0, 'fsync of the directory synced every commit');
  });

  /** Outlasts the kernel's attribute and entry cache (--cache-seconds 1): the next stat asks the mount. */
  const kernelCacheExpiry = () => new Promise((resolve) => setTimeout(resolve, 1_200));

  it('ls -l answers each name from its readdir, without a getattr in JS, and with the right sizes', async () => {
    await ok(`mkdir ${fsys.mnt}/attrs && for i in $(seq 1 60); do head -c $i /dev/zero > ${fsys.mnt}/attrs/f$i; done`);
    await kernelCacheExpiry();
    const before = await getattrCounts();
    const listing = await ok(`ls -l --time-style=+%s ${fsys.mnt}/attrs`);
    const after = await getattrCounts();
    for (let i = 1; i <= 60; i++) assert.match(listing, new RegExp(`\\s${i} \\d+ f${i}\n`));
    assert.ok(after.inJs - before.inJs < 10, `${after.inJs - before.inJs} getattr calls reached JS for 60 names`);
    assert.ok(after.fromReaddir - before.fromReaddir >= 60, `the binding answered ${after.fromReaddir - before.fromReaddir} getattr calls`);
  });

  it('libfuse\'s getattr right after a create is answered without JS, and stat then shows what was written', async () => {
    await ok(`mkdir ${fsys.mnt}/created`);
    const files = 20;
    const before = await getattrCounts();
    await ok(`cd ${fsys.mnt}/created && umask 027 && for i in $(seq 1 ${files}); do head -c $i /dev/urandom > n$i; done`);
    const after = await getattrCounts();
    // Per file, without the binding's answer: the new name's lookup, the directory's
    // attributes (default_permissions) and libfuse's getattr after create, all in JS.
    const inJs = after.inJs - before.inJs;
    const answered = after.fromReaddir - before.fromReaddir;
    assert.ok(answered >= files / 2, `the binding answered ${answered} getattr calls after ${files} creates`);
    assert.ok(inJs <= 2.5 * files, `${inJs} getattr calls reached JS for ${files} creates`);
    const listing = await ok(`cd ${fsys.mnt}/created && stat -c '%n %s %a' n*`);
    for (let i = 1; i <= files; i++) assert.match(listing, new RegExp(`^n${i} ${i} 640$`, 'm'));
  });

  it('a change made over REST shows at once, not the attributes the readdir before it returned', async () => {
    await kernelCacheExpiry();
    await ok(`ls ${fsys.mnt}/attrs > /dev/null`);
    const put = await fetch(`${fsys.restUrl}/fs/attrs/f7`, { method: 'PUT', body: Buffer.alloc(7777) });
    assert.ok(put.ok, `PUT answered ${put.status}`);
    assert.equal((await fs.stat(fsys.at('attrs/f7'))).size, 7777);
  });

  it('a file with unsaved writes shows the size written after a readdir', async () => {
    const handle = await fs.open(fsys.at('attrs/f9'), 'r+');
    try {
      await handle.write(Buffer.alloc(5000, 1), 0, 5000, 100);
      await kernelCacheExpiry();
      // Listed from this process: a program started now would inherit the open file
      // and close it at exec, a FLUSH that commits it, so it would have no unsaved writes.
      await fs.readdir(fsys.at('attrs'));
      assert.equal((await fs.stat(fsys.at('attrs/f9'))).size, 5100);
    } finally {
      await handle.close();
    }
    assert.equal((await fs.stat(fsys.at('attrs/f9'))).size, 5100);
  });

  it('cat keeps going when a node is killed mid-read', async () => {
    const data = testBytes(40 * STRIPE, 'midread');
    await fs.writeFile(path.join(local, 'big.bin'), data);
    await ok(`cp big.bin ${fsys.mnt}/big.bin`);
    const reading = sh(`cat ${fsys.mnt}/big.bin | (sleep 0.3; cat) > back.bin`, { cwd: local });
    await new Promise((r) => setTimeout(r, 100));
    fsys.killNode(2);
    assert.equal((await reading).code, 0);
    assert.ok((await fs.readFile(path.join(local, 'back.bin'))).equals(data));
  });
});

describe('the mount of a user who is not root (raidfs up run as uid and gid 65534)', () => {
  const user = { uid: 65534, gid: 65534 };
  let fsys: MountedRaidfs | undefined;
  let skip = '';
  before(async () => {
    // The user must be able to read raidfs itself (a clone in root's home is not).
    if ((await sh(`node ${CLI_ENTRY} --help > /dev/null`, { user })).code !== 0) skip = `uid ${user.uid} cannot run ${CLI_ENTRY}`;
    else fsys = await MountedRaidfs.start({ user });
  });
  after(async () => { await fsys?.stop(); });

  it('the mount\'s root, and what the user makes in it through the mount or over REST, belong to the user', async (t) => {
    if (!fsys) return t.skip(skip);
    const r = await sh(`cd ${fsys.mnt} && echo one > f && mkdir d && ln -s f l && cp -a f d/copy && cat d/copy &&
      curl -sf -T f ${fsys.restUrl}/fs/rest.txt > /dev/null && stat -c '%n %u %g' . f d l d/copy rest.txt`, { user });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'one\n' + ['.', 'f', 'd', 'l', 'd/copy', 'rest.txt'].map((n) => `${n} ${user.uid} ${user.gid}\n`).join(''));
  });
  it('a write or O_TRUNC open by the user (no CAP_FSETID) takes the set-ID bits off a file, as on a local disk', async (t) => {
    if (!fsys) return t.skip(skip);
    // Before, only writes through the page cache (O_RDWR) lost them: the kernel does it
    // for those, and no write-only handle goes through the page cache here.
    const r = await sh(`cd ${fsys.mnt} && for f in notrunc append trunc rdwr group untouched; do printf a > $f; done &&
      chmod 6755 notrunc append trunc rdwr && chmod 2745 group && chmod 4755 untouched &&
      printf b | dd of=notrunc conv=notrunc status=none && printf b >> append && printf b > trunc && printf b 1<> rdwr &&
      printf b >> group && cat untouched > /dev/null && stat -c '%n %a' notrunc append trunc rdwr group untouched`, { user });
    assert.equal(r.code, 0, r.stderr);
    // The set-group-ID bit of a file that is not group-executable stays for a member of its group (locking, not privilege).
    assert.equal(r.stdout, 'notrunc 755\nappend 755\ntrunc 755\nrdwr 755\ngroup 2745\nuntouched 4755\n');
  });
});

describe('the mount with too few nodes', () => {
  let fsys: MountedRaidfs;
  before(async () => { fsys = await MountedRaidfs.start({ nodes: 2, args: ['--no-node-restart'] }); });
  after(async () => { await fsys?.stop(); });

  it('cp exits non-zero and leaves no file when only one node is alive', async () => {
    await fs.writeFile(fsys.at('before.txt'), 'stored while both nodes were up\n');
    fsys.killNode(1);
    await fsys.waitUntilNodesDown(1);
    const src = path.join(os.tmpdir(), `raidfs-few-${process.pid}`);
    await fs.writeFile(src, testBytes(300_000, 'few'));
    try {
      const r = await sh(`cp ${src} ${fsys.mnt}/after.bin`);
      assert.notEqual(r.code, 0, 'cp must fail');
      assert.match(r.stderr, /Input\/output error/);
    } finally {
      await fs.rm(src, { force: true });
    }
    assert.deepEqual((await fs.readdir(fsys.mnt)).sort(), ['before.txt']);
    assert.equal(await fs.readFile(fsys.at('before.txt'), 'utf8'), 'stored while both nodes were up\n');
  });
});

describe('the mount with little data memory (raidfs up --data-memory 8MiB --rest-memory 8MiB, stripe 256 KiB: room for 2 streams)', () => {
  // A store may hold 6 stripes (1.5 MiB), a stream 3 more; streams leave two stores'
  // worth free: (8 - 3) / 2.25 = 2 streams at once. Every other file is spooled.
  const BUDGET = 8 << 20;
  let fsys: MountedRaidfs;
  let local: string;
  before(async () => {
    fsys = await MountedRaidfs.start({ args: ['--stripe-size', `${STRIPE}`, '--data-memory', `${BUDGET}`, '--rest-memory', `${BUDGET}`] });
    local = await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-memory-'));
  });
  after(async () => {
    await fsys?.stop();
    await fs.rm(local, { recursive: true, force: true });
  });
  const memory = async () => {
    const metrics = await PrometheusText.scrape(fsys.restUrl);
    return {
      budget: metrics.value('raidfs_data_memory_budget_bytes'),
      reserved: metrics.value('raidfs_data_memory_reserved_bytes'),
      refused: metrics.value('raidfs_streams_refused_total'),
      restReserved: metrics.value('raidfs_rest_memory_reserved_bytes'),
    };
  };

  /** Opens `name` in the mount for writing (O_TRUNC), writes `data` and keeps it open: a program that has not closed its file yet. */
  const writeAndHold = async (name: string, data: Buffer) => {
    const handle = await fs.open(fsys.at(name), 'w');
    await handle.writeFile(data);
    return handle;
  };

  it('files written by more programs at once than there is room to stream are spooled, and every one reads back identical', async () => {
    const sizes = [0, 1, 3 * STRIPE + 1, 5 * STRIPE, 3 * STRIPE + 7, 9 * STRIPE, 2 * STRIPE, 4 * STRIPE + 3];
    const contents = sizes.map((size, i) => testBytes(size, `mem${i}`));
    const refusedBefore = (await memory()).refused;
    const open = await Promise.all(contents.map((data, i) => writeAndHold(`w${i}`, data)));
    try {
      const during = await memory();
      assert.equal(during.refused - refusedBefore, sizes.length - 2, 'all files open at once but two were refused a stream');
      assert.equal(during.budget, BUDGET);
      assert.ok(during.reserved > 0 && during.reserved <= BUDGET, `reserved ${during.reserved} within the budget`);
    } finally {
      await Promise.all(open.map((handle) => handle.close()));
    }
    for (let i = 0; i < sizes.length; i++) assert.ok((await fs.readFile(fsys.at(`w${i}`))).equals(contents[i]), `w${i}`);
    // The part lent to the last reader goes back at its release, which the kernel sends after close returned.
    await waitUntil(async () => (await memory()).reserved === 0, 'every reservation released', 5_000);
  });

  it('a file opened with O_TRUNC while no stream is free is cut to what is written, not written over its old content', async () => {
    await fs.writeFile(fsys.at('long.bin'), testBytes(7 * STRIPE, 'long'));
    // Two programs hold the two streams while a third rewrites long.bin.
    // (Not by a program this process starts: a fork closes the holders' descriptors
    // in the child, and every close is a FLUSH, which commits and ends their streams.)
    const holders = [await writeAndHold('hold1', testBytes(3 * STRIPE, 'h1')), await writeAndHold('hold2', testBytes(3 * STRIPE, 'h2'))];
    try {
      const refused = (await memory()).refused;
      await fs.writeFile(fsys.at('long.bin'), 'short and new\n');
      assert.equal((await memory()).refused, refused + 1, 'the rewrite was spooled');
      assert.equal(await fs.readFile(fsys.at('long.bin'), 'utf8'), 'short and new\n');
    } finally {
      await Promise.all(holders.map((handle) => handle.close()));
    }
  });

  it('REST uploads beyond the REST budget wait their turn, and all are stored whole', async () => {
    // Each reserves 3 stripes (0.75 MiB) to start: 16 at once are more than 8 MiB.
    const bodies = Array.from({ length: 16 }, (_, i) => testBytes(5 * STRIPE + i, `rest-mem${i}`));
    const answers = await Promise.all(bodies.map((body, i) => fetch(`${fsys.restUrl}/fs/up/r${i}`, { method: 'PUT', body })));
    assert.deepEqual(answers.map((a) => a.status), bodies.map(() => 201));
    for (let i = 0; i < bodies.length; i++) assert.ok((await fs.readFile(fsys.at(`up/r${i}`))).equals(bodies[i]), `r${i}`);
    // The part lent to the last reader goes back at its release, which the kernel sends after close returned.
    await waitUntil(async () => (await memory()).reserved === 0, 'every reservation of data memory is given back', 5_000);
    assert.equal((await memory()).restReserved, 0);
  });
});

describe('the mount read by many programs at once (stripe 1 MiB)', () => {
  const BIG_STRIPE = 1 << 20;
  let fsys: MountedRaidfs;
  let local: string;
  before(async () => {
    fsys = await MountedRaidfs.start({ args: ['--stripe-size', `${BIG_STRIPE}`] });
    local = await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-readers-'));
  });
  after(async () => {
    await fsys?.stop();
    await fs.rm(local, { recursive: true, force: true });
  });

  it('24 programs reading 24 files at once fetch each part once, and read every byte right', async () => {
    // 24 readers reading 4 parts ahead want 96 parts at once, three times what the
    // chunk cache holds (32 MiB): read-ahead that only warmed the cache had them evict
    // each other's parts before they got to them and fetch them again and again.
    const files = 24;
    const parts = 8;
    for (let i = 0; i < files; i++) await fs.writeFile(path.join(local, `f${i}`), testBytes(parts * BIG_STRIPE, `reader${i}`));
    const copied = await sh(`cp ${local}/f* ${JSON.stringify(fsys.at(''))}`);
    assert.equal(copied.code, 0, copied.stderr);
    const fetches = async () => (await PrometheusText.scrape(fsys.restUrl)).samples('raidfs_node_request_duration_seconds_count', { kind: 'getChunk', outcome: 'ok' })
      .reduce((sum, sample) => sum + sample.value, 0);
    const before = await fetches();
    const read = await sh(`echo 3 > /proc/sys/vm/drop_caches; pids=""
      for i in $(seq 0 ${files - 1}); do cmp ${JSON.stringify(fsys.at(''))}/f$i ${local}/f$i & pids="$pids $!"; done
      rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc`);
    assert.equal(read.code, 0, read.stdout + read.stderr);
    const fetched = await fetches() - before;
    assert.ok(fetched <= files * parts * 1.1, `${fetched} fetches for ${files * parts} parts`);
    assert.equal((await PrometheusText.scrape(fsys.restUrl)).value('raidfs_data_memory_reserved_bytes'), 0, 'every part read ahead let go at close');
  });
});

describe('the mount losing a node while a file is streamed in (2 nodes, stripe 256 KiB)', () => {
  let fsys: MountedRaidfs;
  before(async () => { fsys = await MountedRaidfs.start({ nodes: 2, args: ['--stripe-size', `${STRIPE}`, '--no-node-restart'] }); });
  after(async () => { await fsys?.stop(); });

  it('the writer gets EIO from a later write or from close, and no file is left', async () => {
    const data = testBytes(8 * STRIPE, 'lost');
    const failure = await fsys.writeAndClose('lost.bin', async (handle) => {
      await handle.write(data, 0, 3 * STRIPE, 0); // stripes already on their way to both nodes
      fsys.killNode(1);
      await fsys.waitUntilNodesDown(1);
      await handle.write(data, 3 * STRIPE, 5 * STRIPE, 3 * STRIPE);
    });
    assert.equal(failure?.code, 'EIO', `expected EIO, got ${String(failure)}`);
    await assert.rejects(fs.stat(fsys.at('lost.bin')), { code: 'ENOENT' });
  });
});

describe('the mount while commits wait for stopped nodes or fail (2 nodes, stripe 256 KiB)', () => {
  let fsys: MountedRaidfs;
  let local: string;
  before(async () => {
    fsys = await MountedRaidfs.start({ nodes: 2, args: ['--stripe-size', `${STRIPE}`] });
    local = await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-local-'));
  });
  after(async () => {
    for (const pid of fsys?.nodePids ?? []) {
      try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    }
    await fsys?.stop();
    await fs.rm(local, { recursive: true, force: true });
  });

  /** Runs `meanwhile` with both nodes stopped (SIGSTOP), then lets them go on and waits until both count as up again. */
  const withNodesStopped = async (meanwhile: () => Promise<void>) => {
    for (const pid of fsys.nodePids) process.kill(pid, 'SIGSTOP');
    try {
      await meanwhile();
    } finally {
      for (const pid of fsys.nodePids) process.kill(pid, 'SIGCONT');
    }
    await fsys.waitUntilNodesDown(0);
  };

  it('stat shows the size written while a close waits for the nodes, and cat right after the close reads the file whole', async () => {
    const data = testBytes(2 * STRIPE + 1000, 'waited');
    const src = path.join(local, 'waited.bin');
    await fs.writeFile(src, data);
    const target = fsys.at('waited.bin');
    const handle = await fs.open(target, 'w');
    await handle.write(data);
    let closed: Promise<void> | undefined;
    await withNodesStopped(async () => {
      closed = handle.close(); // waits for the nodes
      await new Promise((r) => setTimeout(r, 1300)); // the kernel's attributes of the file expire (--cache-seconds 1)
      const during = await sh(`stat -c %s ${target}`);
      assert.equal(during.stdout.trim(), String(data.length), 'the size written, not the size committed before');
    });
    await closed;
    // Right after the close, while the attributes the stat got are still cached.
    const r = await sh(`cmp ${src} ${target}`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('when a commit fails, the close of another program writing the same file tries again and answers for its own writes', async () => {
    const before = testBytes(5000, 'shared-before');
    await fs.writeFile(fsys.at('shared.bin'), before);
    const first = await fs.open(fsys.at('shared.bin'), 'r+');
    const second = await fs.open(fsys.at('shared.bin'), 'r+');
    try {
      await second.write('SECOND', 100);
      await withNodesStopped(async () => {
        await assert.rejects(first.close(), { code: 'EIO' });
        assert.equal((await fs.stat(fsys.at('shared.bin'))).size, 5000);
      });
      await second.close(); // the nodes are back: its writes are stored now
    } finally {
      await first.close().catch(() => undefined);
      await second.close().catch(() => undefined);
    }
    const expected = Buffer.from(before);
    expected.write('SECOND', 100);
    assert.ok((await fs.readFile(fsys.at('shared.bin'))).equals(expected), 'the second program\'s write is stored');
  });

  it('a program writing on after its fsync failed gets EIO from its writes and its close, and no file is left', async () => {
    const failure = await fsys.writeAndClose('after-fsync.bin', async (handle) => {
      await handle.write(testBytes(1000, 'a'), 0, 1000, 0);
      await withNodesStopped(() => assert.rejects(handle.sync(), { code: 'EIO' }));
      // The nodes are back, but the 1000 bytes before the fsync are gone: a later
      // write must not pass as if the file held them.
      await assert.rejects(handle.write(testBytes(1000, 'b'), 0, 1000, 1000), { code: 'EIO' });
    });
    assert.equal(failure?.code, 'EIO', `expected EIO from close, got ${String(failure)}`);
    await assert.rejects(fs.stat(fsys.at('after-fsync.bin')), { code: 'ENOENT' });
  });

  it('a program rewriting a file (O_TRUNC) that writes on after its fsync failed gets EIO, and the file keeps its old content', async () => {
    const old = testBytes(3 * STRIPE, 'rewritten-old');
    // Over REST: the release of a handle that wrote it through the mount may come after
    // the open below, which would then share that handle's copy (a spool, whose writes
    // stay dirty after a failed fsync) instead of streaming the new content.
    assert.equal((await fetch(`${fsys.restUrl}/fs/rewritten.bin`, { method: 'PUT', body: old })).status, 201);
    const failure = await fsys.writeAndClose('rewritten.bin', async (handle) => {
      await handle.write(testBytes(1000, 'a'), 0, 1000, 0);
      await withNodesStopped(() => assert.rejects(handle.sync(), { code: 'EIO' }));
      await assert.rejects(handle.write(testBytes(1000, 'b'), 0, 1000, 1000), { code: 'EIO' });
    });
    assert.equal(failure?.code, 'EIO', `expected EIO from close, got ${String(failure)}`);
    assert.ok((await fs.readFile(fsys.at('rewritten.bin'))).equals(old));
  });
});

describe('the mount deleting replaced copies at once (raidfs up --delete-delay 0, stripe 256 KiB)', () => {
  let fsys: MountedRaidfs;
  before(async () => { fsys = await MountedRaidfs.start({ args: ['--stripe-size', `${STRIPE}`, '--delete-delay', '0'] }); });
  after(async () => { await fsys?.stop(); });

  /** The chunk files of the copies of `name`'s parts (raidfs up keeps node K's data in DATA/nodeK). */
  const copiesOf = async (name: string) => (await infoOf(fsys, name)).parts
    .flatMap((p) => p.replicas.map((r) => path.join(fsys.dir, 'data', r.node, 'chunks', p.chunk_id.slice(0, 2), p.chunk_id)));
  const onDisk = async (files: string[]) => (await Promise.all(files.map((f) => fs.access(f).then(() => true, () => false)))).filter(Boolean).length;
  /** Returns once the collector ran a pass after every delete or replace so far: it deleted the copies of a file deleted after them. */
  const collectorPassed = async () => {
    await fs.writeFile(fsys.at('canary.bin'), testBytes(STRIPE, 'canary'));
    const copies = await copiesOf('canary.bin');
    await fs.rm(fsys.at('canary.bin'));
    await waitUntil(async () => (await onDisk(copies)) === 0, 'the collector deleted the copies of a deleted file', 10_000);
  };
  const put = async (name: string, body: Buffer) => assert.equal((await fetch(`${fsys.restUrl}/fs/${name}`, { method: 'PUT', body })).status, 200);

  it('a program reading a file keeps reading the version it opened after a replace over REST; its copies go once it closed the file', async () => {
    const old = testBytes(12 * STRIPE, 'held-old');
    const theirs = testBytes(12 * STRIPE, 'held-new');
    await fs.writeFile(fsys.at('held.bin'), old);
    const oldCopies = await copiesOf('held.bin');
    const reader = await fs.open(fsys.at('held.bin'), 'r');
    try {
      assert.equal((await reader.read(Buffer.alloc(4096), 0, 4096, 0)).bytesRead, 4096);
      await put('held.bin', theirs);
      await collectorPassed();
      assert.equal(await onDisk(oldCopies), oldCopies.length, 'the copies of the version a program holds open are kept');
      // Past what read-ahead fetched after the first read: these come from the nodes.
      const rest = Buffer.alloc(4 * STRIPE);
      assert.equal((await reader.read(rest, 0, rest.length, 8 * STRIPE)).bytesRead, rest.length);
      assert.ok(rest.equals(old.subarray(8 * STRIPE)), 'the program reads the version it opened');
    } finally {
      await reader.close();
    }
    await waitUntil(async () => (await onDisk(oldCopies)) === 0, 'the old version\'s copies are deleted once no program holds it', 10_000);
    // Over REST: the kernel may keep the old pages this process read for --cache-seconds.
    assert.ok(Buffer.from(await (await fetch(`${fsys.restUrl}/fs/held.bin`)).arrayBuffer()).equals(theirs));
  });

  it('a program editing a file in place keeps its edit when a replace over REST came longer than the delete delay before its close', async () => {
    const old = testBytes(6 * STRIPE, 'edited-old');
    await fs.writeFile(fsys.at('edited.bin'), old);
    const oldCopies = await copiesOf('edited.bin');
    const file = await fs.open(fsys.at('edited.bin'), 'r+');
    try {
      await file.write('MINE', 10);
      await put('edited.bin', testBytes(6 * STRIPE, 'edited-theirs'));
      await collectorPassed();
      assert.equal(await onDisk(oldCopies), oldCopies.length, 'the copies of the version the edit is based on are kept');
    } finally {
      await file.close(); // commits the edit: stored whole, its other stripes read from the version it opened
    }
    const expected = Buffer.from(old);
    expected.write('MINE', 10);
    assert.ok((await fs.readFile(fsys.at('edited.bin'))).equals(expected), 'the program\'s edit of what it opened is the last write');
    await waitUntil(async () => (await onDisk(oldCopies)) === 0, 'the old version\'s copies are deleted once the edit is stored', 10_000);
  });
});
