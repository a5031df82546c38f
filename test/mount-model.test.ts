/**
 * Model-based testing of the mount: seeded random sequences of file operations, done
 * alike on the mount and on a local directory (the model). On handles open for
 * writing, in every mode (r+, w, w+, a, a+, and O_CREAT without O_TRUNC): write,
 * pwrite, pread, ftruncate, fsync and close, up to five handles on two names at once;
 * on the names: rename over, unlink (also while handles are open) and reading a
 * file whole. Every result, bytes or errno, must be the model's, and so must the
 * files at the end. Stripes are 64 KiB, so writes cross parts, streams turn into
 * spools, and truncates cut parts.
 *
 * Handles open only for reading are left out on purpose: they read the version
 * committed when they were opened (close-to-open, see the README), where a local
 * file system shows every write at once.
 *
 * A second run adds hard links (link between three names, so unlink, rename and
 * writes meet files with several names) on a mount that caches no attributes
 * (--cache-seconds 0), with handles open for writing only: each name is an inode of
 * its own to the kernel (libfuse 2), so its cached size, and a reading handle's
 * cached pages, are its own until they expire or the handle is reopened (README).
 *
 * The seed is printed in the test's name; RAIDFS_FUZZ_SEED=N replays a run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fuzzSeed, Prng } from './helpers/fuzz-frames';
import { MountedRaidfs } from './helpers/mounted-raidfs';

const STRIPE = 64 * 1024;
const SEQUENCES = 12;
const STEPS = 300;
const seed = fuzzSeed();

const MODES: Record<string, number> = {
  'r+': fs.constants.O_RDWR,
  w: fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC,
  'w+': fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC,
  a: fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND,
  'a+': fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND,
  'rw-create': fs.constants.O_RDWR | fs.constants.O_CREAT,
};
const READABLE = new Set(['r+', 'w+', 'a+', 'rw-create']);

/** The outcome of one operation on one side: what it returned, or the errno it failed with. */
type Outcome = { ok: unknown } | { errno: string };

function outcome(run: () => unknown): Outcome {
  try {
    const value = run();
    return { ok: Buffer.isBuffer(value) ? value.toString('base64') : value };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code) throw err;
    return { errno: code };
  }
}

interface Handle {
  fds: [number, number];
  mode: string;
}

/**
 * KNOWN_DIFFERENCE: rename(2) of one name of a file onto another of its names does
 * nothing, but libfuse 2 first hides the target if it is open (renames it to
 * .fuse_hidden*, see src/fuse/dir-ops.ts), and then the source is renamed for real:
 * the file keeps one name fewer than on a local file system. Sequences leave that
 * case out while any handle is open.
 */
function sameFile(a: string, b: string): boolean {
  const [x, y] = [a, b].map((name) => fs.statSync(name, { throwIfNoEntry: false }));
  return x !== undefined && y !== undefined && x.ino === y.ino;
}

/** What a sequence may do besides the operations on names and handles above. */
interface SequenceKind {
  /** The modes handles are opened in (keys of MODES). */
  modes: readonly string[];
  /** Also link names (hard links). */
  links: boolean;
}

/** Runs one sequence on [mount, model], asserting after each step that both sides agree. */
function runSequence(rng: Prng, roots: [string, string], names: readonly string[], kind: SequenceKind): void {
  const done: string[] = [];
  const handles: Handle[] = [];
  const offset = () => rng.pick([0, rng.int(6 * STRIPE), rng.int(3) * STRIPE + rng.pick([-1, 0, 1]), rng.int(300)]);
  const bytes = (length: number) => {
    const pattern = Buffer.from(Array.from({ length: 61 }, () => rng.int(256)));
    return Buffer.alloc(length, pattern);
  };
  /** Does `op` on both sides and asserts the outcomes agree (compared as `compared` shows them). */
  const both = (what: string, op: (side: 0 | 1) => unknown, compared = (o: Outcome): unknown => o): Outcome[] => {
    done.push(what);
    const outcomes = [outcome(() => op(0)), outcome(() => op(1))];
    assert.deepEqual(compared(outcomes[0]), compared(outcomes[1]), `step ${done.length}: ${what} (mount, then model); steps:\n  ${done.join('\n  ')}`);
    return outcomes;
  };
  const at = (side: 0 | 1, name: string) => path.join(roots[side], name);

  for (let step = 0; step < STEPS; step++) {
    const op = rng.pick(['open', 'open', 'open', 'pwrite', 'pwrite', 'pwrite', 'write', 'write', 'pread', 'pread',
      'truncate', 'truncate', 'close', 'close', 'close', 'fsync', 'read-all', 'rename', 'unlink', 'cat', ...(kind.links ? ['link', 'link'] : [])]);
    if (op === 'open' && handles.length < 5) {
      const mode = rng.pick(kind.modes);
      const name = rng.pick(names);
      const opened = (o: Outcome) => 'ok' in o ? 'opened' : o; // the descriptors differ
      const [mount, model] = both(`open ${name} ${mode}`, (side) => fs.openSync(at(side, name), MODES[mode], 0o644), opened);
      if ('ok' in mount && 'ok' in model) handles.push({ fds: [mount.ok as number, model.ok as number], mode });
    } else if (op === 'rename' || op === 'link') {
      const [from, to] = [rng.pick(names), rng.pick(names)];
      if (op === 'rename' && handles.length > 0 && from !== to && sameFile(at(1, from), at(1, to))) continue; // see KNOWN_DIFFERENCE
      both(`${op} ${from} ${to}`, (side) => (op === 'link' ? fs.linkSync : fs.renameSync)(at(side, from), at(side, to)));
    } else if (op === 'unlink') {
      const name = rng.pick(names);
      both(`unlink ${name}`, (side) => fs.unlinkSync(at(side, name)));
    } else if (op === 'cat' && handles.length === 0) {
      const name = rng.pick(names);
      both(`read whole ${name}`, (side) => fs.readFileSync(at(side, name)));
    } else if (handles.length > 0) {
      const handle = rng.pick(handles);
      const h = handles.indexOf(handle);
      if (op === 'pwrite' || op === 'write') {
        const data = bytes(rng.pick([1, 100, 4096, STRIPE, STRIPE + 5000, 3 * STRIPE]));
        const position = op === 'pwrite' ? offset() : null;
        both(`${op} #${h} ${data.length} at ${position ?? 'pos'}`, (side) => fs.writeSync(handle.fds[side], data, 0, data.length, position));
      } else if ((op === 'pread' || op === 'read-all') && READABLE.has(handle.mode)) {
        const length = op === 'read-all' ? 8 * STRIPE : rng.pick([1, 4096, STRIPE, 4 * STRIPE]);
        const position = op === 'read-all' ? 0 : offset();
        both(`pread #${h} ${length} at ${position}`, (side) => {
          const buf = Buffer.alloc(length);
          return buf.subarray(0, fs.readSync(handle.fds[side], buf, 0, length, position));
        });
      } else if (op === 'truncate') {
        const size = offset();
        both(`ftruncate #${h} ${size}`, (side) => fs.ftruncateSync(handle.fds[side], size));
      } else if (op === 'fsync') {
        both(`fsync #${h}`, (side) => fs.fsyncSync(handle.fds[side]));
      } else if (op === 'close') {
        handles.splice(h, 1);
        both(`close #${h}`, (side) => fs.closeSync(handle.fds[side]));
      }
    }
  }
  for (const handle of handles.splice(0)) both('close at the end', (side) => fs.closeSync(handle.fds[side]));
  for (const name of names) both(`read whole ${name} at the end`, (side) => fs.readFileSync(at(side, name)));
}

for (const { title, args, kind, names } of [
  { title: '', args: [], kind: { modes: Object.keys(MODES), links: false }, names: ['a', 'b'] },
  { title: ', with hard links (--cache-seconds 0, handles open for writing only)', args: ['--cache-seconds', '0'], kind: { modes: ['w', 'a'], links: true }, names: ['a', 'b', 'c'] },
]) {
  describe(`the mount against a local directory, random file operations${title} (seed ${seed}; replay with RAIDFS_FUZZ_SEED=${seed})`, () => {
    let fsys: MountedRaidfs;
    let model: string;
    before(async () => {
      fsys = await MountedRaidfs.start({ args: ['--stripe-size', `${STRIPE}`, ...args] });
      model = path.join(fsys.dir, 'model');
      fs.mkdirSync(model);
    });
    after(async () => { await fsys?.stop(); });

    it(`${SEQUENCES} sequences of ${STEPS} operations give the same bytes and errors as the local directory`, () => {
      const rng = new Prng(seed);
      for (let sequence = 0; sequence < SEQUENCES; sequence++) {
        runSequence(rng, [fsys.mnt, model], names.map((name) => `s${sequence}-${name}`), kind);
      }
    });
  });
}
