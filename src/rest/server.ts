/**
 * The REST facade: an express app over the controller core, served over HTTP. It is
 * a thin front end: routes translate HTTP to core calls (files-routes.ts: the course
 * API; fs-routes.ts: streaming by path; cluster-routes.ts: status, repair, scrub;
 * ui-routes.ts: the web dashboard, a static page over that same API) and never talk
 * to nodes or SQL.
 *
 * Invariants:
 * - Listens on loopback unless told otherwise; with a token set, every route
 *   requires it (auth.ts: bearer header or the dashboard's login cookie) before
 *   anything else runs, except the dashboard's login page (ui-login.ts).
 * - Every answer that is not file bytes or the dashboard's pages and assets is
 *   JSON; every error is {"error": "..."} (errors.ts), those of Node's HTTP parser
 *   (answerClientError) included. A path that exists answers a method it does not
 *   take with 405 and Allow (methodNotAllowed), `/` included; only a path no route
 *   serves is 404.
 * - Everything under /ui goes out with the dashboard's headers, its
 *   Content-Security-Policy included (ui-assets.ts: uiHeaders, mounted first).
 * - No whole-request or whole-response timeout (a multi-GiB transfer may take long),
 *   but a connection idle for `idleTimeoutMs` is closed, so a stalled client never
 *   holds an upload open forever (its upload then fails and commits nothing).
 * - close() stops accepting connections, lets requests in flight finish for up to
 *   `graceMs`, then cuts what is left.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLogger } from '../common/log';
import type { Controller } from '../core/controller';
import { MAX_FILE_SIZE } from '../core/file-size';
import { tokenAuth } from './auth';
import { clusterRoutes } from './cluster-routes';
import { answerClientError, errorHandler, methodNotAllowed, notFoundHandler } from './errors';
import { filesRoutes } from './files-routes';
import { fsRoutes } from './fs-routes';
import { metricsRoutes } from './metrics-routes';
import type { TransferLimits } from './transfer-limits';
import { uiHeaders } from './ui-assets';
import { uiLoginRoutes } from './ui-login';
import { uiRoutes } from './ui-routes';

export interface RestOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 9000; 0 picks a free one). */
  port?: number;
  /** Token required on every request, as a bearer header or the dashboard's login cookie (default: none, no authentication). */
  token?: string;
  /** Largest file an upload may store, else 413 (default: the largest file raidfs stores, file-size.ts). */
  maxUploadBytes?: number;
  /** Longest an upload or download waits for room in the controller's REST memory, then 503 (default 30 s). */
  roomWaitMs?: number;
  /** A connection silent this long is closed (default 120 s). */
  idleTimeoutMs?: number;
  /** How long close() lets requests in flight finish (default 2 s). */
  graceMs?: number;
}

export const REST_DEFAULTS = {
  host: '127.0.0.1',
  port: 9000,
  maxUploadBytes: MAX_FILE_SIZE,
  roomWaitMs: 30_000,
  idleTimeoutMs: 120_000,
  graceMs: 2_000,
} as const;

export interface RestServer {
  /** Base URL, with the real port, e.g. http://127.0.0.1:9000 */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

const log = createLogger('rest');

function createRestApp(controller: Controller, options: RestOptions = {}): express.Express {
  const limits: TransferLimits = {
    maxUploadBytes: options.maxUploadBytes ?? REST_DEFAULTS.maxUploadBytes,
    roomWaitMs: options.roomWaitMs ?? REST_DEFAULTS.roomWaitMs,
  };
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((req, res, next) => {
    const started = performance.now();
    res.once('finish', () => log.debug('request', { method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(performance.now() - started) }));
    next();
  });
  app.use('/ui', uiHeaders);
  app.use('/ui', uiLoginRoutes(options.token));
  if (options.token !== undefined) app.use(tokenAuth(options.token));
  app.use(metricsRoutes(controller));
  app.get('/', (_req, res) => { res.json({ message: 'Hello World!' }); });
  app.all('/', methodNotAllowed(['GET', 'HEAD']));
  app.use('/files', filesRoutes(controller, limits));
  app.use('/fs', fsRoutes(controller, limits));
  app.use(clusterRoutes(controller));
  app.use('/ui', uiRoutes({ login: options.token !== undefined }));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}

export async function startRestServer(controller: Controller, options: RestOptions = {}): Promise<RestServer> {
  const host = options.host ?? REST_DEFAULTS.host;
  const graceMs = options.graceMs ?? REST_DEFAULTS.graceMs;
  const server = createServer(createRestApp(controller, options));
  server.requestTimeout = 0;
  server.timeout = options.idleTimeoutMs ?? REST_DEFAULTS.idleTimeoutMs;
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(host, options.port ?? REST_DEFAULTS.port, err)));
    server.listen(options.port ?? REST_DEFAULTS.port, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = restUrl(host, port);
  log.info('REST API listening', { url, auth: options.token !== undefined ? 'bearer token' : 'none' });
  return {
    url,
    host,
    port,
    close: () => new Promise<void>((resolve) => {
      const cut = setTimeout(() => server.closeAllConnections(), graceMs);
      server.close(() => { clearTimeout(cut); resolve(); });
      server.closeIdleConnections();
    }),
  };
}

/** Why the REST API cannot listen on HOST:PORT, in one line that says what to do. */
function listenError(host: string, port: number, err: NodeJS.ErrnoException): Error {
  const address = hostPort(host, port);
  switch (err.code) {
    case 'EADDRINUSE': return new Error(`the REST address ${address} is in use by another program: stop it, or give another address (port 0 picks a free one)`);
    case 'EADDRNOTAVAIL': return new Error(`the REST address ${address} is not an address of this machine: give one of its addresses, or 0.0.0.0 for all`);
    case 'EACCES': return new Error(`the REST address ${address} needs privileges to listen on (a port below 1024): give a port of 1024 or more`);
    default: return new Error(`cannot serve the REST API on ${address}: ${err.code ?? err.message}`);
  }
}

/** The base URL of a REST API served on `host`:`port`. */
export function restUrl(host: string, port: number): string {
  return `http://${hostPort(host, port)}`;
}

/** HOST:PORT as URLs and messages write it: an IPv6 host in brackets. */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
