// Makes docs/dashboard.png, the dashboard picture in the README: a real cluster (the
// test suite's TestCluster: 4 storage-node processes, capped at a few hundred MiB
// each so the usage bars show something), a few folders and files of various sizes
// PUT over REST, node3 killed with SIGKILL, then the page in headless Chromium
// (1280x900) once it shows node3 down, in one folder with one file's parts opened.
//
//   npm run build && node scripts/dashboard-screenshot.mjs [OUT.png]
//
// Needs Chromium at /usr/bin/chromium (or $CHROMIUM). Everything it starts is
// stopped, and its temp directory removed, also when it fails.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const { TestCluster } = require(path.join(root, 'dist/test/helpers/cluster.js'));
const { startRestServer } = require(path.join(root, 'dist/src/rest/server.js'));

const MiB = 1 << 20;
const out = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'dashboard.png'));
const FILES = [
  ['/datasets/sensor-readings-2024.csv', 10 * MiB + 123_456, 'text/csv'],
  ['/datasets/weather-stations.parquet', 23 * MiB, 'application/octet-stream'],
  ['/backups/db-2024-06-01.tar.gz', 41 * MiB, 'application/gzip'],
  ['/photos/2024/beach.jpg', 3_400_000, 'image/jpeg'],
  ['/photos/2024/sunset.jpg', 2_150_000, 'image/jpeg'],
  ['/photos/cat.png', 780_000, 'image/png'],
  ['/docs/report-q2.pdf', 1_240_000, 'application/pdf'],
  ['/docs/notes.txt', 12_345, 'text/plain'],
  ['/README.md', 2_048, 'text/markdown'],
  ['/release-1.4.0.tar.gz', 11 * MiB + 400_000, 'application/gzip'],
];

const cluster = await TestCluster.start({ nodes: 4, capacities: [256 * MiB, 256 * MiB, 320 * MiB, 288 * MiB] });
let rest;
let browser;
try {
  rest = await startRestServer(cluster.controller, { port: 0 });
  for (const [file, size, type] of FILES) {
    const res = await fetch(`${rest.url}/fs${file}`, { method: 'PUT', body: randomBytes(size), headers: { 'Content-Type': type } });
    if (!res.ok) throw new Error(`PUT ${file}: ${res.status} ${await res.text()}`);
  }
  await cluster.killNode(2);
  await cluster.waitUntilDown(2);

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, colorScheme: 'light' });
  await page.goto(`${rest.url}/ui/#/datasets`);
  await page.locator('tr[data-node="node3"][data-state="down"]').waitFor({ timeout: 10_000 });
  await page.locator('tr[data-path="/datasets/sensor-readings-2024.csv"] button.entry-name').click();
  await page.locator('tr[data-details="/datasets/sensor-readings-2024.csv"] li.replica').first().waitFor();
  await page.waitForTimeout(1_600); // one more poll: "down 3.2s", heartbeats fresh
  await page.evaluate(() => window.scrollTo(0, 0));
  mkdirSync(path.dirname(out), { recursive: true });
  await page.screenshot({ path: out });
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
} finally {
  await browser?.close();
  await rest?.close();
  await cluster.stop();
}
