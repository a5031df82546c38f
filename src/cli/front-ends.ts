/**
 * The front ends one controller process serves: the mount and the REST API, either
 * or both. `raidfs up` and `raidfs controller` share this lifecycle: the mount starts
 * first, then REST; a failure while starting stops what had started; stop() closes
 * them in reverse order. Both run until untilStopped(): SIGINT/SIGTERM, or the mount
 * being unmounted from outside (`umount DIR`).
 *
 * Invariant: the signals are listened for from the moment start() returns, before
 * any ready line is printed, so a script that signals as soon as it reads that line
 * stops the process cleanly instead of killing it with its mount still up.
 */
import { Controller } from '../core/controller';
import { MountOptions, RaidfsMount } from '../fuse/mount';
import { RestOptions, RestServer, startRestServer } from '../rest/server';
import { waitForShutdownSignal } from './signals';

export class FrontEnds {
  private readonly stopRequested: Promise<string>;

  private constructor(readonly mount?: RaidfsMount, readonly rest?: RestServer) {
    this.stopRequested = Promise.race([waitForShutdownSignal(), ...(mount ? [mount.unmountedElsewhere.then(() => 'unmounted')] : [])]);
  }

  static async start(controller: Controller, mountOptions?: MountOptions, restOptions?: RestOptions): Promise<FrontEnds> {
    const mount = mountOptions ? await RaidfsMount.mount(controller, mountOptions) : undefined;
    try {
      const rest = restOptions ? await startRestServer(controller, restOptions) : undefined;
      return new FrontEnds(mount, rest);
    } catch (err) {
      await mount?.unmount();
      throw err;
    }
  }

  /** "mounted at DIR, REST API on URL, " (only what runs), for the ready line. */
  describe(): string {
    return `${this.mount ? `mounted at ${this.mount.mountpoint}, ` : ''}${this.rest ? `REST API on ${this.rest.url}, ` : ''}`;
  }

  /** Resolves with why the process should stop: a signal's name, or "unmounted". */
  untilStopped(): Promise<string> {
    return this.stopRequested;
  }

  async stop(): Promise<void> {
    await this.rest?.close();
    await this.mount?.unmount();
  }
}
