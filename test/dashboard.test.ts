/**
 * The web dashboard (/ui) driven in a real headless Chromium (playwright-core with
 * Debian's /usr/bin/chromium; missing Chromium fails the test, it never skips)
 * against a real cluster of 4 storage-node processes and the REST server:
 * - the page and its assets go out with their content types and no-cache, and every
 *   HTML answer (the page, its file under /ui/assets/, the login page, redirects)
 *   with the page's Content-Security-Policy; it shows every node "up" and the root
 *   directory as the metadata has it;
 * - a 3-part file uploaded through the file input, and a file dropped on the drop
 *   zone (a DataTransfer in a drop event) in a subdirectory, are stored byte for byte;
 * - a file's details list its parts and the nodes holding each copy, as the metadata
 *   says; a node holding one of them killed with SIGKILL turns "down" on the page
 *   (text and data-state, never colour alone), with why, in the node table and in
 *   the parts; a node of another cluster is listed as refused, with the reason;
 * - the download link saves the exact bytes (read through the copies still up), and
 *   delete (after the confirmation) removes the file from the store;
 * - with a token: /ui redirects to the login page and the API answers 401 without
 *   it; a wrong token is refused (401, the form again); the right one sets an
 *   HttpOnly, SameSite=Strict cookie and the dashboard works, uploads included;
 *   the cookie alone cannot change anything from another origin; log out ends it.
 * The `*View` types the page reads are assigned the server's own values here, so the
 * build fails if the page's idea of the JSON drifts from what the server sends.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { formatBytes } from '../src/common/format';
import { fileInfoJson, listedEntryJson } from '../src/rest/representations';
import { RestServer, startRestServer } from '../src/rest/server';
import type { FileInfoView, ListingView, StatusView } from '../src/rest/ui/api-types';
import { TestCluster } from './helpers/cluster';
import { testBytes } from './helpers/data';

const CHROMIUM = '/usr/bin/chromium';
/** No internet here: keep Chromium from trying to reach Google. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const STRIPE = 256 * 1024;
const TOKEN = 'dash-7Qe;+/=%,tok';
/** Long enough for a node's death to be noticed (1.5 s in tests) and shown (polls every 1.5 s). */
const SHOWN_MS = 8_000;

describe('the web dashboard in a real browser', { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  let open: RestServer;
  let guarded: RestServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: the dashboard test needs Debian's chromium package`);
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE } });
    open = await startRestServer(cluster.controller, { port: 0 });
    guarded = await startRestServer(cluster.controller, { port: 0, token: TOKEN });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await open?.close();
    await guarded?.close();
    await cluster?.stop();
  });

  const rest = (route: string, init?: RequestInit) => fetch(open.url + route, init);
  const restBytes = async (route: string) => Buffer.from(await (await rest(route)).arrayBuffer());
  const row = (path: string) => page.locator(`#listing-body tr[data-path="${path}"]`);

  it('serves the page and its assets, and shows every node up and the root directory', async () => {
    const html = await rest('/ui/');
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(html.headers.get('cache-control'), 'no-cache');
    const csp = html.headers.get('content-security-policy');
    assert.match(csp ?? '', /default-src 'self'/);
    for (const route of ['/ui/assets/rest/ui/index.html', '/ui/assets/rest/ui/login.html']) {
      const served = await rest(route);
      assert.equal(served.status, 200, route);
      assert.match(served.headers.get('content-type') ?? '', /^text\/html/, route);
      assert.equal(served.headers.get('content-security-policy'), csp, `${route} has the page's policy`);
    }
    const moved = await rest('/ui', { redirect: 'manual', headers: { Accept: 'text/html' } });
    assert.match(moved.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(moved.headers.get('content-security-policy'), csp, 'the redirect\'s HTML has the page\'s policy');
    for (const [asset, type] of [['dashboard.js', /javascript/], ['style.css', /^text\/css/]] as const) {
      const res = await rest(`/ui/assets/rest/ui/${asset}`);
      assert.equal(res.status, 200, asset);
      assert.match(res.headers.get('content-type') ?? '', type);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
    }
    const shared = await rest('/ui/assets/common/format.js');
    assert.equal(shared.status, 200, 'the size formatting shared with the server is served too');
    assert.equal((await rest('/ui', { redirect: 'manual' })).headers.get('location'), '/ui/');
    assert.equal((await rest('/ui/login', { redirect: 'manual' })).status, 303, 'no token: no login page');

    await rest('/fs/docs/readme.txt', { method: 'PUT', body: 'read me' });
    const status: StatusView = cluster.controller.status();
    assert.equal(status.nodesUp, 4);
    await page.goto(`${open.url}/ui/`);
    await page.locator('#nodes-body tr[data-state="up"]').nth(3).waitFor();
    for (const node of status.nodes) {
      const nodeRow = page.locator(`#nodes-body tr[data-node="${node.id}"]`);
      assert.equal(await nodeRow.getAttribute('data-state'), 'up');
      assert.match(await nodeRow.locator('.badge').innerText(), /\bup\b/);
    }
    assert.match(await page.locator('#summary').innerText(), /4 of 4 nodes up/);
    const listing: ListingView = { path: '/', entries: cluster.controller.list('/').map((entry) => listedEntryJson('/', entry)) };
    await row('/docs').waitFor();
    assert.deepEqual(await page.locator('#listing-body tr[data-path]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path'))),
      listing.entries.map((e) => e.path));
  });

  it('lists a node of another cluster as refused, with the reason, and counts it', async () => {
    const index = 4;
    mkdirSync(cluster.nodeDir(index), { recursive: true });
    writeFileSync(path.join(cluster.nodeDir(index), 'cluster-id'), `${randomBytes(16).toString('hex')}\n`);
    cluster.startNode(index);
    try {
      const refusedRow = page.locator('#nodes-body tr[data-node="node5"][data-state="refused"]');
      await refusedRow.waitFor({ timeout: SHOWN_MS });
      const [refused] = cluster.controller.status().refusedNodes;
      assert.equal(refused.id, 'node5');
      assert.match(await refusedRow.locator('.badge').innerText(), /\brefused\b/);
      assert.equal(await refusedRow.locator('.state-reason').innerText(), refused.reason);
      assert.match(await refusedRow.innerText(), new RegExp(refused.address.replace(/[()]/g, '\\$&')));
      assert.match(await page.locator('#stats').innerText(), /4 up · 1 refused/);
      assert.equal(await page.locator('#nodes-body tr[data-state="up"]').count(), 4, 'the nodes of this cluster are still up');
    } finally {
      await cluster.nodes[index].stop(2_000);
    }
  });

  const data = testBytes(2 * STRIPE + STRIPE / 2 + 123, 'dashboard');

  it('uploads a multi-part file through the file input, with a progress bar, and lists it', async () => {
    await page.locator('#file-input').setInputFiles({ name: 'stripes.bin', mimeType: 'application/octet-stream', buffer: data });
    const upload = page.locator('#uploads li[data-upload="/stripes.bin"][data-state="done"]');
    await upload.waitFor();
    const bar = upload.locator('progress');
    assert.equal(await bar.getAttribute('value'), String(data.length));
    assert.equal(await bar.getAttribute('max'), String(data.length));
    assert.match(await upload.innerText(), /stored/);
    await row('/stripes.bin').waitFor();
    assert.match(await row('/stripes.bin').innerText(), new RegExp(formatBytes(data.length).replace('.', '\\.')));
    assert.ok((await restBytes('/fs/stripes.bin')).equals(data), 'the stored bytes are the file\'s');
    assert.match(await page.locator('#announcer').innerText(), /Uploaded \/stripes\.bin/);
  });

  it('uploads a file dropped on the drop zone into the folder shown', async () => {
    await row('/docs').locator('a').click();
    await row('/docs/readme.txt').waitFor();
    assert.equal(await page.locator('#breadcrumb a[aria-current="page"]').innerText(), 'docs');
    const dropped = testBytes(10_000, 'dropped');
    const dataTransfer = await page.evaluateHandle(({ name, base64 }) => {
      const web = globalThis as unknown as {
        DataTransfer: new () => { items: { add(file: unknown): void } };
        File: new (bits: unknown[], name: string, options: { type: string }) => unknown;
      };
      const transfer = new web.DataTransfer();
      transfer.items.add(new web.File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name, { type: 'application/octet-stream' }));
      return transfer;
    }, { name: 'dropped.bin', base64: dropped.toString('base64') });
    await page.locator('#drop-zone').dispatchEvent('dragenter', { dataTransfer });
    await page.locator('#drop-zone').dispatchEvent('drop', { dataTransfer });
    await row('/docs/dropped.bin').waitFor();
    assert.ok((await restBytes('/fs/docs/dropped.bin')).equals(dropped));
    await page.locator('#breadcrumb a', { hasText: 'All files' }).click();
    await row('/stripes.bin').waitFor();
  });

  let victim: string;

  it('shows a file\'s parts and the nodes holding each copy', async () => {
    const info: FileInfoView = fileInfoJson(cluster.controller.snapshot('/stripes.bin'), '/stripes.bin', cluster.controller.nodes());
    assert.equal(info.parts.length, 3);
    const name = row('/stripes.bin').locator('button.entry-name');
    await name.click();
    assert.equal(await name.getAttribute('aria-expanded'), 'true');
    const parts = page.locator('#listing-body tr[data-details="/stripes.bin"] tbody tr[data-part]');
    await parts.nth(2).waitFor();
    assert.equal(await parts.count(), 3);
    for (const part of info.parts) {
      const replicas = parts.nth(part.index).locator('li.replica');
      assert.deepEqual(await replicas.evaluateAll((items) => items.map((i) => i.getAttribute('data-node'))), part.replicas.map((r) => r.node));
      for (const replica of part.replicas) assert.match(await replicas.filter({ hasText: replica.node }).innerText(), new RegExp(`${replica.node} up`));
    }
    victim = info.parts[0].replicas[0].node;
  });

  it('shows a node killed with SIGKILL as down, in the node table and in the parts', async () => {
    await cluster.killNode(cluster.indexOf(victim));
    await cluster.waitUntilDown(cluster.indexOf(victim));
    const nodeRow = page.locator(`#nodes-body tr[data-node="${victim}"]`);
    await page.locator(`#nodes-body tr[data-node="${victim}"][data-state="down"]`).waitFor({ timeout: SHOWN_MS });
    assert.match(await nodeRow.locator('.badge').innerText(), /\bdown\b/);
    assert.doesNotMatch(await nodeRow.locator('.badge').innerText(), /\bup\b/);
    assert.equal(await nodeRow.locator('.state-reason').innerText(), 'connection lost');
    assert.equal(await page.locator('#nodes-body tr[data-state="up"]').count(), 3);
    assert.match(await page.locator('#summary').innerText(), /3 of 4 nodes up/);
    const copy = page.locator(`#listing-body tr[data-details="/stripes.bin"] tr[data-part="0"] li.replica[data-node="${victim}"]`);
    await page.locator(`#listing-body tr[data-details="/stripes.bin"] tr[data-part="0"] li.replica[data-node="${victim}"][data-state="down"]`)
      .waitFor({ timeout: SHOWN_MS });
    assert.match(await copy.innerText(), new RegExp(`${victim} down`));
    await page.locator('#announcer', { hasText: `${victim} is down` }).waitFor();
  });

  it('downloads the file through the page, byte for byte, from the copies still up', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), row('/stripes.bin').locator('a[download]').click()]);
    assert.equal(download.suggestedFilename(), 'stripes.bin');
    assert.equal(await download.failure(), null);
    assert.ok((await readFile(await download.path())).equals(data), 'the downloaded bytes are the file\'s');
  });

  it('deletes the file through the page (after confirming)', async () => {
    await row('/stripes.bin').locator('button.danger').click();
    await row('/stripes.bin').waitFor({ state: 'detached' });
    assert.equal((await rest('/fs/stripes.bin')).status, 404);
    assert.equal(cluster.controller.lookup('/stripes.bin'), undefined);
  });

  it('with a token, asks for it on a login page; the login cookie then opens the dashboard', async () => {
    const plain = await fetch(`${guarded.url}/ui/`, { redirect: 'manual', headers: { Accept: 'text/html' } });
    assert.equal(plain.status, 303);
    assert.equal(plain.headers.get('location'), '/ui/login');
    const csp = (await rest('/ui/')).headers.get('content-security-policy');
    assert.equal(plain.headers.get('content-security-policy'), csp);
    assert.equal((await fetch(`${guarded.url}/ui/login`)).headers.get('content-security-policy'), csp);
    const postCss = await fetch(`${guarded.url}/ui/login.css`, { method: 'POST' });
    assert.equal(postCss.status, 405);
    assert.equal(postCss.headers.get('allow'), 'GET, HEAD');
    for (const route of ['/status', '/fs/', '/ui/assets/rest/ui/dashboard.js']) {
      const res = await fetch(guarded.url + route);
      assert.equal(res.status, 401, route);
      assert.equal(typeof ((await res.json()) as { error?: unknown }).error, 'string');
    }

    const context = await browser.newContext();
    try {
      const login = await context.newPage();
      login.on('dialog', (dialog) => void dialog.accept());
      await login.goto(`${guarded.url}/ui/`);
      assert.equal(new URL(login.url()).pathname, '/ui/login');
      await login.getByLabel('REST token').fill('not the token');
      const [refused] = await Promise.all([login.waitForResponse((r) => r.request().method() === 'POST'), login.getByRole('button', { name: 'Log in' }).click()]);
      assert.equal(refused.status(), 401);
      assert.match(await login.locator('#login-error').innerText(), /not valid/);
      assert.deepEqual(await context.cookies(), []);

      await login.getByLabel('REST token').fill(TOKEN);
      await Promise.all([login.waitForURL(`${guarded.url}/ui/`), login.getByRole('button', { name: 'Log in' }).click()]);
      await login.locator('#nodes-body tr[data-node]').nth(3).waitFor();
      await login.locator('#listing-body tr[data-path="/docs"]').waitFor();
      const [cookie] = await context.cookies();
      assert.equal(cookie.name, 'raidfs_token');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(cookie.path, '/');

      const small = testBytes(3000, 'behind-login');
      await login.locator('#file-input').setInputFiles({ name: 'behind-login.bin', mimeType: 'application/octet-stream', buffer: small });
      await login.locator('#listing-body tr[data-path="/behind-login.bin"]').waitFor();
      const bearer = { Authorization: `Bearer ${TOKEN}` };
      assert.ok(Buffer.from(await (await fetch(`${guarded.url}/fs/behind-login.bin`, { headers: bearer })).arrayBuffer()).equals(small));

      const cookieHeader = `raidfs_token=${encodeURIComponent(TOKEN)}`;
      assert.equal((await fetch(`${guarded.url}/status`, { headers: { Cookie: cookieHeader } })).status, 200, 'the cookie reads');
      for (const origin of [undefined, 'http://evil.example', `http://127.0.0.1:${open.port}`]) {
        const res = await fetch(`${guarded.url}/fs/behind-login.bin`, { method: 'DELETE', headers: { Cookie: cookieHeader, ...(origin ? { Origin: origin } : {}) } });
        assert.equal(res.status, 403, `DELETE with the cookie from origin ${origin}`);
      }
      assert.equal((await fetch(`${guarded.url}/fs/behind-login.bin`, { method: 'HEAD', headers: bearer })).status, 200, 'still there');

      await Promise.all([login.waitForURL(`${guarded.url}/ui/login`), login.getByRole('button', { name: 'Log out' }).click()]);
      assert.deepEqual(await context.cookies(), []);
      await login.goto(`${guarded.url}/ui/`);
      assert.equal(new URL(login.url()).pathname, '/ui/login');
    } finally {
      await context.close();
    }
  });
});
