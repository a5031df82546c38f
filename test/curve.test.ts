/**
 * CURVE on node traffic, with real processes and sockets: `raidfs keygen` and its
 * files; a controller with keys admits exactly the nodes whose keys it lists (a node
 * with another key, without CURVE, or with the wrong controller key never registers,
 * never gets a byte, and a raw socket posing as a node never gets an answer); files
 * still round-trip byte-exact; the bytes on the wire are encrypted (seen through a
 * recording TCP proxy, against a plain-traffic control); `raidfs up` with keys
 * makes keys for its own nodes; and both ends refuse unauthenticated traffic on
 * non-loopback addresses unless forced with --insecure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Dealer } from 'zeromq';
import { LocalNode } from '../src/cli/local-nodes';
import { ControllerOptions } from '../src/core/controller';
import { KeyFileError, newKeyPair, readAuthorizedKeys, readKeyPair, readPublicKey } from '../src/wire/curve-keys';
import { encodeMessage } from '../src/wire/messages';
import { curveClientSocketOptions, isLoopbackEndpoint, localEndpoint } from '../src/wire/transport-security';
import { TestCluster } from './helpers/cluster';
import { ControllerProcess } from './helpers/controller-process';
import { testBytes } from './helpers/data';
import { raidfs } from './helpers/raidfs-cli';
import { MountedRaidfs } from './helpers/mounted-raidfs';

const STRIPE = 64 * 1024;

/** A TCP proxy in front of `target` that records every byte in both directions. */
class RecordingProxy {
  readonly recorded: Buffer[] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: net.Server) {}

  static async start(target: string): Promise<RecordingProxy> {
    const port = Number(/:(\d+)$/.exec(target)![1]);
    let proxy: RecordingProxy | undefined;
    const server = net.createServer((client) => {
      const upstream = net.connect(port, '127.0.0.1');
      for (const [from, to] of [[client, upstream], [upstream, client]]) {
        proxy!.sockets.add(from);
        from.on('data', (d: Buffer) => { proxy!.recorded.push(Buffer.from(d)); to.write(d); });
        from.on('error', () => to.destroy());
        from.on('close', () => to.destroy());
      }
    });
    proxy = new RecordingProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get endpoint(): string {
    return `tcp://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  get bytes(): Buffer {
    return Buffer.concat(this.recorded);
  }

  close(): void {
    this.sockets.forEach((s) => s.destroy());
    this.server.close();
  }
}

describe('CURVE authentication and encryption of node traffic', () => {
  let dir: string;
  let keys: string;
  let otherKeys: string;
  let curve: NonNullable<ControllerOptions['curve']>;
  const nodeKeyArgs = (keyFile: string, controllerPub = path.join(keys, 'controller.pub')) => ['--key', keyFile, '--controller-key', controllerPub];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-curve-'));
    keys = path.join(dir, 'keys');
    otherKeys = path.join(dir, 'other-keys');
    for (const [out, nodes] of [[keys, '3'], [otherKeys, '1']]) {
      const made = raidfs('keygen', '--out', out, '--nodes', nodes);
      assert.equal(made.status, 0, made.stderr);
    }
    curve = { ...readKeyPair(path.join(keys, 'controller.key')), authorizedKeys: readAuthorizedKeys(path.join(keys, 'authorized_keys')) };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('raidfs keygen writes the controller and node key files and authorized_keys, and never overwrites them', () => {
    const names = readdirSync(keys).sort();
    assert.deepEqual(names, ['authorized_keys', 'controller.key', 'controller.pub', 'node-1.key', 'node-1.pub', 'node-2.key', 'node-2.pub', 'node-3.key', 'node-3.pub']);
    for (const name of names.filter((n) => n.endsWith('.key'))) {
      assert.equal(statSync(path.join(keys, name)).mode & 0o777, 0o600, `${name} is readable by its owner only`);
      const pair = readKeyPair(path.join(keys, name));
      assert.equal(readPublicKey(path.join(keys, name.replace('.key', '.pub'))), pair.publicKey);
    }
    assert.deepEqual(curve.authorizedKeys, [1, 2, 3].map((k) => readPublicKey(path.join(keys, `node-${k}.pub`))));
    assert.notEqual(curve.publicKey, curve.authorizedKeys[0]);

    const before = readFileSync(path.join(keys, 'controller.key'));
    const again = raidfs('keygen', '--out', keys);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^raidfs: .*controller\.key.* already exist.*not overwriting/);
    assert.ok(readFileSync(path.join(keys, 'controller.key')).equals(before), 'existing key untouched');
    assert.equal(raidfs('keygen').status, 2, '--out is required');
    assert.match(raidfs('--help').stdout, /^ {2}keygen {2,}/m, 'listed in raidfs --help');
  });

  it('rejects malformed key files with one-line errors', () => {
    const bad = (name: string, text: string) => { const f = path.join(dir, name); writeFileSync(f, text); return f; };
    const pub = readPublicKey(path.join(keys, 'node-1.pub'));
    const pair = readKeyPair(path.join(keys, 'node-1.key'));
    const cases: Array<[() => unknown, RegExp]> = [
      [() => readKeyPair(path.join(dir, 'missing.key')), /cannot read key file .*missing\.key: no such file/],
      [() => readPublicKey(bad('short.pub', pub.slice(0, 39))), /short\.pub: a key is 40 Z85 characters, this is 39/],
      [() => readPublicKey(bad('badz85.pub', `${pub.slice(0, 39)}~`)), /badz85\.pub: not valid Z85/],
      [() => readPublicKey(bad('overflow.pub', '%'.repeat(40))), /overflow\.pub: not valid Z85/],
      [() => readPublicKey(path.join(keys, 'node-1.key')), /key pair file .*give the public key file/],
      [() => readKeyPair(bad('notjson.key', pub)), /notjson\.key: not a key pair file/],
      [() => readKeyPair(bad('nosecret.key', JSON.stringify({ publicKey: pub }))), /"secretKey" is missing/],
      [() => readKeyPair(bad('mixed.key', JSON.stringify({ publicKey: curve.publicKey, secretKey: pair.secretKey }))), /"publicKey" does not belong to "secretKey"/],
      [() => readAuthorizedKeys(bad('auth-bad', `# comment\n${pub} node-1\nnot-a-key\n`)), /auth-bad:3: not a public key/],
      [() => readAuthorizedKeys(bad('auth-empty', '# nothing here\n\n')), /auth-empty: no keys/],
    ];
    for (const [read, message] of cases) {
      assert.throws(read, (err: Error) => err instanceof KeyFileError && message.test(err.message) && !err.message.includes('\n'), String(message));
    }
    // '{' is a Z85 character too (one key in 85 starts with it): such a key is a key, not JSON.
    let braced = newKeyPair().publicKey;
    while (!braced.startsWith('{')) braced = newKeyPair().publicKey;
    assert.equal(readPublicKey(bad('braced.pub', `${braced}\n`)), braced);
    assert.throws(() => readPublicKey(bad('braced-short.pub', braced.slice(0, 39))), /braced-short\.pub: a key is 40 Z85 characters, this is 39/);
    assert.deepEqual(readAuthorizedKeys(bad('auth-braced', `${braced} node-1\n`)), [braced]);
    assert.deepEqual(readAuthorizedKeys(bad('auth-ok', `# comment\n\n  ${pub}   node-1 at rack 3\n${curve.publicKey}\n`)), [pub, curve.publicKey]);
  });

  it('applies the loopback rule to endpoints', () => {
    for (const e of ['tcp://127.0.0.1:5557', 'tcp://127.9.9.9:1', 'tcp://localhost:5557', 'tcp://[::1]:5557', 'tcp://127.0.0.1:*', 'ipc:///tmp/raidfs.sock', 'tcp://eth0;127.0.0.1:5557']) {
      assert.ok(isLoopbackEndpoint(e), e);
    }
    for (const e of ['tcp://0.0.0.0:5557', 'tcp://*:5557', 'tcp://10.1.2.3:5557', 'tcp://[::]:5557', 'tcp://eth0:5557', 'tcp://example.com:5557', 'tcp://128.0.0.1:1', 'tcp://127.0.0.1.evil.com:1', 'ws://127.0.0.1:1', 'nonsense']) {
      assert.ok(!isLoopbackEndpoint(e), e);
    }
  });

  describe('a controller with --key and --authorized-keys', () => {
    let cluster: TestCluster;
    before(async () => {
      cluster = await TestCluster.start({
        nodes: 2,
        controller: { curve, stripeSize: STRIPE },
        nodeArgs: [nodeKeyArgs(path.join(keys, 'node-1.key')), nodeKeyArgs(path.join(keys, 'node-2.key'))],
      });
    });
    after(async () => { await cluster?.stop(); });

    it('admits nodes with authorized keys, and a multi-part file reads back byte-exact', async () => {
      assert.deepEqual(cluster.controller.nodes().map((n) => [n.id, n.alive]), [['node1', true], ['node2', true]]);
      const data = testBytes(5 * STRIPE + 123, 'curve');
      await cluster.controller.writeFile('/secret.bin', data);
      assert.equal(cluster.controller.snapshot('/secret.bin').parts.length, 6);
      assert.ok((await cluster.controller.readFile('/secret.bin')).equals(data));
    });

    it('never admits a node with an unknown key, without CURVE, or with the wrong controller key', async () => {
      cluster.startNode(2, undefined, { extraArgs: nodeKeyArgs(path.join(otherKeys, 'node-1.key')) });
      cluster.startNode(3, undefined, { extraArgs: [] });
      cluster.startNode(4, undefined, { extraArgs: nodeKeyArgs(path.join(keys, 'node-3.key'), path.join(otherKeys, 'controller.pub')) });
      const rogues = [2, 3, 4];

      // Raw sockets posing as nodes: plain, and CURVE with a key that is not authorized.
      const plain = new Dealer({ routingId: 'rogue-plain', linger: 0, receiveTimeout: 3_000, sendTimeout: 1_000 });
      const unknown = new Dealer({
        routingId: 'rogue-curve', linger: 0, receiveTimeout: 3_000, sendTimeout: 1_000,
        ...curveClientSocketOptions({ ...readKeyPair(path.join(otherKeys, 'node-1.key')), serverPublicKey: curve.publicKey }),
      });
      try {
        const answers = [plain, unknown].map(async (socket) => {
          socket.connect(cluster.controller.endpoint);
          const id = socket.routingId!;
          await socket.send(encodeMessage({ register: { nodeId: id, report: { capacityBytes: 1 << 30, freeBytes: 1 << 30 } } })).catch(() => undefined);
          return socket.receive().then(() => `${id} got an answer`, () => undefined);
        });
        assert.deepEqual(await Promise.all(answers), [undefined, undefined], 'no reply to a rogue socket');
      } finally {
        plain.close();
        unknown.close();
      }

      assert.deepEqual(cluster.controller.nodes().map((n) => n.id), ['node1', 'node2'], 'only the authorized nodes are known');
      for (const i of rogues) assert.ok(cluster.nodes[i].running, `${cluster.nodeId(i)} keeps running (and retrying); it exited with ${cluster.nodes[i].process.exitCode ?? cluster.nodes[i].process.signalCode}`);
      const data = testBytes(4 * STRIPE, 'after-rogues');
      await cluster.controller.writeFile('/after-rogues.bin', data);
      assert.ok((await cluster.controller.readFile('/after-rogues.bin')).equals(data));
      for (const i of rogues) assert.deepEqual(await cluster.chunkFiles(i), [], `${cluster.nodeId(i)} stored nothing`);
      assert.deepEqual(cluster.controller.nodes().map((n) => n.id), ['node1', 'node2']);
    });
  });

  it('encrypts node traffic: chunk bytes never appear on the wire (they do without CURVE)', async () => {
    const data = testBytes(200_000, 'on-the-wire');
    const seen = async (withCurve: boolean): Promise<boolean> => {
      const cluster = await TestCluster.start({ nodes: 0, controller: withCurve ? { curve } : {} });
      let proxy: RecordingProxy | undefined;
      try {
        proxy = await RecordingProxy.start(cluster.controller.endpoint);
        for (const i of [0, 1]) {
          cluster.startNode(i, undefined, { controller: proxy.endpoint, extraArgs: withCurve ? nodeKeyArgs(path.join(keys, `node-${i + 1}.key`)) : [] });
        }
        await cluster.controller.waitForNodes(2, 15_000);
        await cluster.controller.writeFile('/wire.bin', data);
        assert.ok((await cluster.controller.readFile('/wire.bin')).equals(data));
        return proxy.bytes.includes(data.subarray(50_000, 50_064));
      } finally {
        proxy?.close();
        await cluster.stop();
      }
    };
    assert.equal(await seen(false), true, 'control: plain traffic shows the bytes');
    assert.equal(await seen(true), false, 'CURVE traffic does not');
  });

  it('raidfs up --key --authorized-keys makes keys for its own nodes: they register and a file round-trips', async () => {
    const up = await MountedRaidfs.start({ nodes: 2, args: ['--no-mount', '--key', path.join(keys, 'controller.key'), '--authorized-keys', path.join(keys, 'authorized_keys')] });
    try {
      const localKey = path.join(up.dir, 'data', 'local-node-keys', 'node.key');
      assert.equal(statSync(localKey).mode & 0o777, 0o600);
      assert.ok(!curve.authorizedKeys.includes(readKeyPair(localKey).publicKey), 'authorized in memory only, not in authorized_keys');
      const data = testBytes(100_000, 'up-curve');
      assert.equal((await fetch(`${up.restUrl}/fs/up.bin`, { method: 'PUT', body: data })).status, 201);
      assert.ok(Buffer.from(await (await fetch(`${up.restUrl}/fs/up.bin`)).arrayBuffer()).equals(data));
    } finally {
      await up.stop();
    }
  });

  it('refuses unauthenticated traffic on non-loopback addresses unless --insecure (controller and node CLI)', async () => {
    const db = path.join(dir, 'cli-meta.sqlite');
    const listen = raidfs('controller', '--db', db, '--no-rest', '--listen', 'tcp://0.0.0.0:0');
    assert.equal(listen.status, 1, listen.stderr);
    assert.match(listen.stderr, /^raidfs: cannot listen for storage nodes on tcp:\/\/0\.0\.0\.0:0: not a loopback address.*--key and --authorized-keys.*--insecure/);
    const connect = raidfs('node', '--data', path.join(dir, 'cli-node'), '--controller', 'tcp://10.1.2.3:5557');
    assert.equal(connect.status, 1, connect.stderr);
    assert.match(connect.stderr, /^raidfs: cannot connect to the controller at tcp:\/\/10\.1\.2\.3:5557: not a loopback address.*--key and --controller-key.*--insecure/);

    let forced: ControllerProcess | undefined;
    try {
      forced = await ControllerProcess.start(['--db', db, '--no-rest', '--listen', 'tcp://0.0.0.0:0', '--insecure']);
      assert.match(forced.endpoint, /^tcp:\/\/0\.0\.0\.0:\d+$/);
    } finally {
      await forced?.stop('SIGTERM');
    }
  });

  it('raidfs controller --key --authorized-keys on 0.0.0.0 admits raidfs node --key --controller-key', async () => {
    let controller: ControllerProcess | undefined;
    let node: LocalNode | undefined;
    try {
      controller = await ControllerProcess.start(['--db', path.join(dir, 'cli-curve.sqlite'), '--rest', '127.0.0.1:0', '--listen', 'tcp://0.0.0.0:0',
        '--key', path.join(keys, 'controller.key'), '--authorized-keys', path.join(keys, 'authorized_keys')]);
      node = new LocalNode({
        id: 'cli-node', dataDir: path.join(dir, 'cli-curve-node'), controller: localEndpoint(controller.endpoint), extraArgs: nodeKeyArgs(path.join(keys, 'node-3.key')),
      }, 'ignore');
      await controller.waitForStatus((s) => s.nodes.some((n) => n.id === 'cli-node' && n.alive), 'cli-node is registered', 10_000);
    } finally {
      await node?.stop(2_000);
      await controller?.stop('SIGTERM');
    }
  });
});
