/**
 * Who may use the REST facade, and how it is started: without a token every route is
 * open (on loopback); with one, every route, known or not, answers 401 JSON unless the
 * request carries `Authorization: Bearer <token>`. Then the command line as a user
 * runs it: `raidfs controller` and `raidfs up` with --rest, --no-rest, --rest-token,
 * RAIDFS_REST_TOKEN, and their usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { raidfs, startRaidfs } from './helpers/raidfs-cli';
import { RestServer, startRestServer } from '../src/rest/server';
import { TestCluster } from './helpers/cluster';
import { testBytes } from './helpers/data';

const TOKEN = 'tok-3f9a1c_OK.~+/=';

describe('REST authentication', () => {
  let cluster: TestCluster;
  let open: RestServer;
  let guarded: RestServer;
  before(async () => {
    cluster = await TestCluster.start({ nodes: 2 });
    open = await startRestServer(cluster.controller, { port: 0 });
    guarded = await startRestServer(cluster.controller, { port: 0, token: TOKEN });
  });
  after(async () => {
    await open?.close();
    await guarded?.close();
    await cluster?.stop();
  });

  const routes: Array<[string, string, RequestInit['body']?]> = [
    ['GET', '/'], ['GET', '/files'], ['POST', '/files', '{}'], ['GET', '/files/1'], ['GET', '/files/1/info'], ['DELETE', '/files/424242'],
    ['GET', '/fs/'], ['PUT', '/fs/secret.txt', 'x'], ['HEAD', '/fs/secret.txt'], ['DELETE', '/fs/secret.txt'], ['GET', '/no-such-route'],
  ];

  it('without a token, serves every route without credentials', async () => {
    assert.equal((await fetch(`${open.url}/`)).status, 200);
    assert.equal((await fetch(`${open.url}/fs/open.txt`, { method: 'PUT', body: 'open' })).status, 201);
    assert.equal(await (await fetch(`${open.url}/fs/open.txt`)).text(), 'open');
  });

  it('with a token, answers 401 JSON on every route to a request without it or with a wrong one', async () => {
    const wrong: Array<Record<string, string>> = [
      {}, { Authorization: `Bearer ${TOKEN}x` }, { Authorization: `Bearer ${TOKEN.slice(0, -1)}` }, { Authorization: 'Bearer' },
      { Authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` }, { Authorization: TOKEN },
    ];
    for (const [method, route, body] of routes) {
      for (const headers of wrong) {
        const res = await fetch(guarded.url + route, { method, headers, body });
        assert.equal(res.status, 401, `${method} ${route} with ${JSON.stringify(headers)}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        if (method !== 'HEAD') assert.equal(typeof ((await res.json()) as { error?: unknown }).error, 'string');
      }
    }
    assert.equal((await fetch(`${guarded.url}/fs/secret.txt`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 404, 'the PUTs above were refused');
  });

  it('with a token, serves every route to a request that carries it', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    assert.deepEqual(await (await fetch(`${guarded.url}/`, { headers: auth })).json(), { message: 'Hello World!' });
    const data = testBytes(5000, 'authed');
    assert.equal((await fetch(`${guarded.url}/fs/authed.bin`, { method: 'PUT', body: data, headers: { authorization: `bearer  ${TOKEN}` } })).status, 201);
    const back = Buffer.from(await (await fetch(`${guarded.url}/fs/authed.bin`, { headers: auth })).arrayBuffer());
    assert.ok(back.equals(data));
    assert.equal((await fetch(`${guarded.url}/files`, { headers: auth })).status, 200);
  });
});

describe('REST on the command line', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-rest-cli-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const controllerArgs = (name: string) => ['controller', '--db', path.join(dir, name, 'meta.sqlite'), '--listen', 'tcp://127.0.0.1:0'];

  it('`raidfs controller --rest HOST:PORT --rest-token T` serves REST behind the token; RAIDFS_REST_TOKEN works too', async () => {
    for (const [args, env] of [[['--rest-token', TOKEN], {}], [[], { RAIDFS_REST_TOKEN: TOKEN }]] as const) {
      const cli = await startRaidfs([...controllerArgs('c1'), '--rest', '127.0.0.1:0', ...args], env);
      try {
        assert.ok(cli.restUrl, cli.out());
        assert.equal((await fetch(`${cli.restUrl}/`)).status, 401);
        assert.equal((await fetch(`${cli.restUrl}/`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200);
      } finally {
        assert.equal(await cli.stop(), 0, cli.out());
      }
    }
  });

  it('`--no-rest` serves nothing; a taken port fails with exit 1 and one line', async () => {
    const quiet = await startRaidfs([...controllerArgs('c2'), '--no-rest']);
    assert.doesNotMatch(quiet.out(), /REST/);
    assert.equal(await quiet.stop(), 0);

    const holder = await startRaidfs([...controllerArgs('c3'), '--rest', '127.0.0.1:0']);
    try {
      const taken = new URL(holder.restUrl!).host;
      const clash = raidfs(...controllerArgs('c4'), '--rest', taken);
      assert.equal(clash.status, 1, clash.stderr);
      assert.match(clash.stderr, new RegExp(`^raidfs: the REST address ${taken} is in use by another program: stop it, or give another address \\(port 0 picks a free one\\)$`, 'm'));
    } finally {
      await holder.stop();
    }
  });

  it('rejects malformed REST flags with exit 2', () => {
    for (const flags of [['--rest', 'localhost'], ['--rest', '127.0.0.1:70000'], ['--rest', 'a b:80'], ['--rest-token', ''], ['--rest-token', 'has space'], ['--rest-max-upload', 'lots']]) {
      const r = raidfs(...controllerArgs('c5'), ...flags);
      assert.equal(r.status, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^raidfs controller: --rest/);
    }
  });

  it('`raidfs up --rest HOST:PORT` serves the store it starts', async () => {
    const up = await startRaidfs(['up', '--no-mount', '--nodes', '2', '--data', path.join(dir, 'up'), '--listen', 'tcp://127.0.0.1:0', '--rest', '127.0.0.1:0', '--stripe-size', '64k']);
    try {
      assert.ok(up.restUrl, up.out());
      const data = testBytes(5 * 64 * 1024 + 3, 'up');
      assert.equal((await fetch(`${up.restUrl}/fs/up/data.bin`, { method: 'PUT', body: data })).status, 201);
      assert.ok(Buffer.from(await (await fetch(`${up.restUrl}/fs/up/data.bin`)).arrayBuffer()).equals(data));
    } finally {
      assert.equal(await up.stop(), 0, up.out());
    }
  });
});
