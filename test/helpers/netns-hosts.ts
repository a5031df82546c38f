/**
 * Test hosts in network namespaces (needs root and iproute2): each host is a network
 * namespace whose `eth0` is one end of a veth pair; the other end is a port of a
 * bridge in the root namespace, which holds the `.1` address of the hosts' private
 * /24 (so processes in the root namespace reach the hosts, and the hosts reach it).
 *
 *   root namespace: bridge rfs<hex>br 10.231.X.1/24
 *     ├─ veth rfs<hex>h1 ── namespace rfs-<hex>-h1: eth0 10.231.X.11/24, lo
 *     ├─ veth rfs<hex>h2 ── namespace rfs-<hex>-h2: eth0 10.231.X.12/24, lo
 *     └─ ...
 *
 * Invariants:
 * - Names carry a random suffix and X is a random /24 that no route or address of
 *   this machine overlaps (checked again once set up), so parallel runs do not clash. Nothing is routed beyond
 *   the bridge: the hosts only have their /24, no default route.
 * - create() either returns hosts that are all set up or throws HostsUnavailable
 *   (why, for a skip) after removing whatever it had made.
 * - destroy() kills the processes started with run() (by PID: `ip netns exec` execs
 *   the command, so the child's PID is the command's), then deletes the namespaces,
 *   the veths and the bridge; it is safe to call more than once.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { sh } from './mounted-raidfs';

/** Network namespaces cannot be made here (not root, no iproute2, no kernel support...). */
export class HostsUnavailable extends Error {}

export interface NetnsHost {
  /** The network namespace (`ip netns exec NAME ...`). */
  readonly namespace: string;
  /** The host's address on the hosts' network. */
  readonly ip: string;
  /** The root-namespace end of its veth pair: set it down to cut the host off. */
  readonly link: string;
}

/** A process running inside one of the hosts, tracked by PID. */
export class HostProcess {
  private output = '';
  readonly exited: Promise<number | NodeJS.Signals>;

  constructor(readonly host: NetnsHost, readonly child: ChildProcess) {
    const keep = (d: Buffer) => { this.output = (this.output + d.toString()).slice(-8_000); };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last few KiB of its stdout and stderr. */
  get outputTail(): string {
    return this.output;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 2_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => { if (this.running) this.child.kill('SIGKILL'); }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export class NetnsHosts {
  private readonly processes: HostProcess[] = [];
  private destroyed = false;

  private constructor(
    /** The bridge in the root namespace. */
    readonly bridge: string,
    /** The root namespace's address on the hosts' network (on the bridge). */
    readonly rootIp: string,
    readonly hosts: NetnsHost[],
  ) {}

  /** Makes `count` hosts on a fresh bridge; throws HostsUnavailable if anything fails. */
  static async create(count: number): Promise<NetnsHosts> {
    if (process.getuid?.() !== 0) throw new HostsUnavailable('network namespaces need root');
    // A run started at the same moment may have picked the same subnet: then both
    // see the other's address on it, and each tries another.
    for (let attempt = 1; ; attempt++) {
      const made = await NetnsHosts.setUp(count, await unusedSubnet());
      if (!(await made.subnetShared())) return made;
      await made.destroy();
      if (attempt === 5) throw new HostsUnavailable('no 10.231.X.0/24 subnet stayed free for test hosts');
    }
  }

  private static async setUp(count: number, subnet: string): Promise<NetnsHosts> {
    const tag = randomBytes(3).toString('hex');
    const hosts = Array.from({ length: count }, (_, i): NetnsHost => ({
      namespace: `rfs-${tag}-h${i + 1}`, ip: `${subnet}.${11 + i}`, link: `rfs${tag}h${i + 1}`,
    }));
    const made = new NetnsHosts(`rfs${tag}br`, `${subnet}.1`, hosts);
    const steps = [
      `ip link add ${made.bridge} type bridge`,
      `ip addr add ${made.rootIp}/24 dev ${made.bridge}`,
      `ip link set ${made.bridge} up`,
      ...hosts.flatMap((h) => [
        `ip netns add ${h.namespace}`,
        `ip link add ${h.link} type veth peer name eth0 netns ${h.namespace}`,
        `ip link set ${h.link} master ${made.bridge} up`,
        `ip -n ${h.namespace} addr add ${h.ip}/24 dev eth0`,
        `ip -n ${h.namespace} link set eth0 up`,
        `ip -n ${h.namespace} link set lo up`,
      ]),
    ];
    const result = await sh(`set -e\n${steps.join('\n')}`, { timeoutMs: 30_000 });
    if (result.code !== 0) {
      await made.destroy();
      throw new HostsUnavailable(`cannot set up network namespaces: ${result.stderr.trim() || `exit ${result.code}`}`);
    }
    return made;
  }

  /** Whether a device other than this bridge has an address in this subnet. */
  private async subnetShared(): Promise<boolean> {
    const prefix = this.rootIp.slice(0, this.rootIp.lastIndexOf('.') + 1);
    return (await sh('ip -4 -o addr show')).stdout.split('\n')
      .some((line) => line.includes(` inet ${prefix}`) && line.split(/\s+/)[1] !== this.bridge);
  }

  /** Runs `command ARGS` inside `host` (`ip netns exec`); stop it with its stop() or destroy(). */
  run(host: NetnsHost, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): HostProcess {
    const proc = new HostProcess(host, spawn('ip', ['netns', 'exec', host.namespace, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env }));
    this.processes.push(proc);
    return proc;
  }

  /** Takes the host's link down (from the root side): its processes keep running, cut off. */
  async cut(host: NetnsHost): Promise<void> {
    await this.ip(`link set ${host.link} down`);
  }

  async reconnect(host: NetnsHost): Promise<void> {
    await this.ip(`link set ${host.link} up`);
  }

  /** Kills the hosts' processes and removes the namespaces, veths and bridge. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(this.processes.map((p) => p.stop()));
    // Deleting a namespace destroys its eth0 and so the veth pair; the explicit
    // deletes cover a pair whose namespace end never got there.
    const script = [
      ...this.hosts.map((h) => `ip netns del ${h.namespace} 2>/dev/null`),
      ...this.hosts.map((h) => `ip link del ${h.link} 2>/dev/null`),
      `ip link del ${this.bridge} 2>/dev/null`,
    ];
    await sh(script.map((s) => `${s} || true`).join('\n'), { timeoutMs: 30_000 });
  }

  /** What of this topology is still there (empty after destroy()). */
  async leftovers(): Promise<string[]> {
    const namespaces = (await sh('ip netns list')).stdout;
    const links = (await sh('ip -o link show')).stdout;
    return [
      ...this.hosts.map((h) => h.namespace).filter((ns) => new RegExp(`^${ns}\\b`, 'm').test(namespaces)),
      ...[this.bridge, ...this.hosts.map((h) => h.link)].filter((link) => new RegExp(`^\\d+: ${link}[@:]`, 'm').test(links)),
    ];
  }

  private async ip(args: string): Promise<void> {
    const result = await sh(`ip ${args}`);
    if (result.code !== 0) throw new Error(`ip ${args}: ${result.stderr.trim()}`);
  }
}

/** "10.231.X" for a random X whose /24 overlaps no IPv4 route or address here. */
async function unusedSubnet(): Promise<string> {
  const routes = await sh('ip -4 -o route show table all && ip -4 -o addr show');
  if (routes.code !== 0) throw new HostsUnavailable(`cannot list routes (iproute2 missing?): ${routes.stderr.trim()}`);
  const taken = [...routes.stdout.matchAll(/(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/g)].map(([, address, bits]) => ({ base: ipv4(address), bits: Number(bits ?? 32) }));
  const overlaps = (net: number) => taken.some(({ base, bits }) => {
    const common = Math.min(24, bits); // two prefixes overlap iff their shorter prefix matches
    return common === 0 || (base >>> (32 - common)) === (net >>> (32 - common));
  });
  for (let tries = 0; tries < 64; tries++) {
    const x = randomInt(0, 256);
    if (!overlaps(ipv4(`10.231.${x}.0`))) return `10.231.${x}`;
  }
  throw new HostsUnavailable('no unused 10.231.X.0/24 subnet for test hosts');
}

function ipv4(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}
