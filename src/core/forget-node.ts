/**
 * Forgetting a storage node that is gone for good (`raidfs forget-node`, DELETE
 * /nodes/ID): its row, its copies and its doomed copies leave the metadata, and it
 * leaves status and metrics. Until then the controller keeps every node it has seen,
 * since one that is down may come back with its copies.
 *
 * Invariants:
 * - Only a node that is down is forgotten, and only once no part needs its copy: every
 *   part with a copy there has `replicas` copies elsewhere (repair makes them; `raidfs
 *   repair` at once). So forgetting never loses the last record of a copy a part needs.
 * - Its doomed copies (which the collector could not delete: the node is down) go in
 *   short batches with a yield between, so a million of them do not stall the
 *   controller; the node's row goes last, in one transaction with whatever was doomed
 *   meanwhile. A crash between batches leaves the node known, and forgetting it again
 *   finishes the job.
 * - A forgotten node that comes back registers as a new node: its chunk files are then
 *   orphans, which scrub finds and the collector deletes.
 */
import { setImmediate } from 'node:timers/promises';
import { createLogger } from '../common/log';
import { ClusterAccess } from './cluster-access';
import { RaidfsError } from './errors';

export interface ForgetReport {
  node: string;
  /** Copies of parts that still had `replicas` copies on other nodes. */
  copiesForgotten: number;
  /** Doomed copies the collector could not delete while the node was down. */
  doomedForgotten: number;
}

const BATCH = 10_000;
const log = createLogger('registry');

export async function forgetNode(cluster: Pick<ClusterAccess, 'metadata' | 'registry'>, replicas: number, id: string): Promise<ForgetReport> {
  const { metadata, registry } = cluster;
  const mayForget = () => {
    if (!registry.isKnown(id) && !metadata.hasCopiesOn(id)) throw new RaidfsError('ENOENT', `no storage node ${id} is known`);
    if (registry.isAlive(id)) throw new RaidfsError('EBUSY', `node ${id} is up: only a node that is down can be forgotten`);
    const needed = metadata.partsNeedingCopyOn(id, replicas);
    if (needed > 0) {
      throw new RaidfsError('EBUSY', `${needed} parts would have fewer than ${replicas} copies without the copy on node ${id}: `
        + `make them elsewhere first (\`raidfs repair\`), or bring ${id} back`);
    }
  };
  mayForget();
  let doomed = 0;
  for (let n; (n = metadata.forgetDoomedOn(id, BATCH)) > 0; await setImmediate()) doomed += n;
  mayForget(); // it may have come back, or a commit recorded a copy there, meanwhile
  const last = metadata.forgetNode(id);
  registry.forget(id);
  const report = { node: id, copiesForgotten: last.copies, doomedForgotten: doomed + last.doomed };
  log.info('node forgotten', report);
  return report;
}
