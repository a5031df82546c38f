/**
 * Names the file system a data directory is on, so that the controller can count a
 * file system's space once when several nodes keep their data on it (`raidfs up`'s
 * local nodes all do): every node on it reports all of its free space.
 *
 * Invariant: equal for two directories exactly when they are on one file system of
 * one machine. The device number tells file systems apart on a machine; the host name
 * and the machine id (systemd's /etc/machine-id, where there is one) tell machines
 * apart, so that equal device numbers on two hosts are not taken for one disk.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';

export async function volumeIdOf(dir: string): Promise<string> {
  const machineId = (await fs.readFile('/etc/machine-id', 'utf8').catch(() => '')).trim();
  const { dev } = await fs.stat(dir);
  return `${os.hostname()}/${machineId}/${dev}`;
}
