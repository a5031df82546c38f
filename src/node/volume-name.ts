/**
 * Names the file system a data directory is on and the machine it is in, so that the
 * controller can count a file system's space once when several nodes keep their data
 * on it (`raidfs up`'s local nodes all do: every node on it reports all of its free
 * space), and put a part's copies on different machines and file systems first.
 *
 * Invariants: `host` is equal for two directories exactly when they are on one
 * machine, `id` exactly when they are on one file system of one machine. The host
 * name and the machine id (systemd's /etc/machine-id, where there is one) tell
 * machines apart; the device number tells file systems apart on a machine.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';

export interface VolumeName {
  id: string;
  host: string;
}

export async function volumeOf(dir: string): Promise<VolumeName> {
  const machineId = (await fs.readFile('/etc/machine-id', 'utf8').catch(() => '')).trim();
  const host = `${os.hostname()}/${machineId}`;
  const { dev } = await fs.stat(dir);
  return { id: `${host}/${dev}`, host };
}
