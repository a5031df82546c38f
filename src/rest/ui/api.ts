/**
 * The dashboard's requests to the REST API: JSON reads, deletes and streamed uploads.
 * URLs are relative to the page (/ui/), so the dashboard keeps working behind a
 * proxy that serves raidfs under a path prefix. Credentials are the login cookie,
 * which the browser adds by itself (same origin).
 *
 * Invariant: a 401 answer (no cookie, or the token changed) sends the browser to the
 * login page; every other failure rejects with an ApiError carrying the server's
 * {"error": ...} message.
 */
import type { FileInfoView, ListingView, StatusView } from './api-types.js';

/** The API's root: the page is served at ROOT/ui/. */
const ROOT = new URL('../', document.baseURI);

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** '/a b/c#d' -> '/a%20b/c%23d': each name percent-encoded on its own. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The /fs URL of a file, or (directory) of a directory's listing; `download` asks for an attachment. */
export function fsUrl(path: string, options: { directory?: boolean; download?: boolean; recursive?: boolean } = {}): URL {
  const url = new URL(`fs${encodePath(path)}${options.directory && path !== '/' ? '/' : ''}`, ROOT);
  if (options.download) url.searchParams.set('download', 'true');
  if (options.recursive) url.searchParams.set('recursive', 'true');
  return url;
}

function toLogin(): void {
  window.location.assign(new URL('login', document.baseURI));
}

function failure(status: number, body: string): ApiError {
  if (status === 401) toLogin();
  let message = `the server answered ${status}`;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string') message = (parsed as { error: string }).error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(status, message);
}

async function send(method: string, url: URL): Promise<Response> {
  const res = await fetch(url, { method, headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw failure(res.status, await res.text());
  return res;
}

async function getJson<T>(url: URL): Promise<T> {
  return await (await send('GET', url)).json() as T;
}

export const getStatus = (): Promise<StatusView> => getJson(new URL('status', ROOT));
export const listDirectory = (path: string): Promise<ListingView> => getJson(fsUrl(path, { directory: true }));
export const getFileInfo = (id: number): Promise<FileInfoView> => getJson(new URL(`files/${id}/info`, ROOT));

/** Removes a file, or a directory with everything in it. */
export async function removePath(path: string, recursive: boolean): Promise<void> {
  await send('DELETE', fsUrl(path, { recursive }));
}

/**
 * Stores `file` at `path` (PUT /fs/PATH, streamed: the browser sends the file from
 * disk), reporting bytes sent as they go. XMLHttpRequest, because fetch cannot report
 * upload progress.
 */
export function uploadFile(path: string, file: File, onProgress: (sent: number, total: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', fsUrl(path));
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.addEventListener('progress', (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(failure(xhr.status, xhr.responseText));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'the connection to the server failed')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'the upload was cancelled')));
    xhr.send(file);
  });
}
