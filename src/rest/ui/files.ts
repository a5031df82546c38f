/**
 * The file browser: one directory of the tree at a time (which one is in the URL's
 * hash, #/photos/2024, so the back button and bookmarks work), each entry with its
 * size and modification time, a download link and a delete button; a file's row
 * opens to show its times, its parts and the nodes holding each part's copies.
 *
 * Invariants:
 * - What is shown is the last answer of GET /fs/DIR/ (and GET /files/ID/info for each
 *   open file); the table is redrawn only when an answer changed, and keyboard focus
 *   stays on the control that had it (dom.ts).
 * - Nothing is deleted without the user confirming it; a directory is deleted with
 *   everything in it, and the question says so.
 */
import { formatBytes } from '../../common/format.js';
import { announce } from './announce.js';
import { ApiError, encodePath, fsUrl, getFileInfo, listDirectory, removePath } from './api.js';
import type { EntryView, FileInfoView, ListingView, PartView } from './api-types.js';
import { byId, h, hiddenText, replaceKeepingFocus, timeElement } from './dom.js';
import { stateBadge } from './health.js';

/** The directory a URL hash names ('#/a%20b/c' -> '/a b/c'); the root if it names none. */
export function directoryFromHash(hash: string): string {
  try {
    return `/${hash.replace(/^#/, '').split('/').filter((name) => name !== '').map(decodeURIComponent).join('/')}`;
  } catch {
    return '/';
  }
}

const hashOf = (path: string): string => `#${encodePath(path)}`;
const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/')) || '/';

const TYPE_ORDER: Record<EntryView['type'], number> = { dir: 0, file: 1, symlink: 1 };
const byTypeThenName = (a: EntryView, b: EntryView): number =>
  TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || a.name.localeCompare(b.name, undefined, { numeric: true });

export class FileBrowser {
  private dir = '/';
  private listing: ListingView | null = null;
  /** Open files (by id) and their info, null until it arrives. */
  private readonly open = new Map<number, FileInfoView | null>();
  /** The answers the table was last drawn from. */
  private drawn = '';

  /** The directory shown. */
  get directory(): string {
    return this.dir;
  }

  /** The entry of the shown directory called `name`, if any. */
  entryNamed(name: string): EntryView | undefined {
    return this.listing?.entries.find((entry) => entry.name === name);
  }

  /** Shows directory `dir` (closing every open file). */
  async show(dir: string): Promise<void> {
    this.dir = dir;
    this.listing = null;
    this.open.clear();
    this.drawn = '';
    byId('drop-target').textContent = dir;
    this.drawBreadcrumb();
    await this.refresh();
  }

  /** Asks for the shown directory and the open files again; redraws if anything changed. */
  async refresh(): Promise<void> {
    const dir = this.dir;
    let listing: ListingView;
    try {
      listing = await listDirectory(dir);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 409) && dir !== '/') {
        announce(`${dir} is gone; showing ${parentOf(dir)}.`);
        window.location.hash = hashOf(parentOf(dir));
        return;
      }
      throw err;
    }
    const files = new Set(listing.entries.filter((e) => e.type === 'file').map((e) => e.id));
    for (const id of this.open.keys()) if (!files.has(id)) this.open.delete(id);
    const infos = await Promise.all([...this.open.keys()].map(async (id) => [id, await getFileInfo(id).catch(() => null)] as const));
    if (dir !== this.dir) return; // the user moved on meanwhile
    this.listing = listing;
    for (const [id, info] of infos) if (this.open.has(id)) this.open.set(id, info);
    const answers = JSON.stringify([listing, infos]);
    if (answers !== this.drawn) {
      this.drawn = answers;
      this.draw();
    }
  }

  private drawBreadcrumb(): void {
    const names = this.dir.split('/').filter((name) => name !== '');
    const crumb = (label: string, path: string, current: boolean) =>
      h('li', {}, h('a', { href: hashOf(path), 'aria-current': current ? 'page' : undefined }, label));
    byId('breadcrumb-list').replaceChildren(
      crumb('All files', '/', names.length === 0),
      ...names.map((name, i) => crumb(name, `/${names.slice(0, i + 1).join('/')}`, i === names.length - 1)),
    );
  }

  private draw(): void {
    const entries = [...(this.listing?.entries ?? [])].sort(byTypeThenName);
    const rows = entries.flatMap((entry) => {
      const row = this.entryRow(entry);
      return this.open.has(entry.id) ? [row, this.detailsRow(entry, this.open.get(entry.id) ?? null)] : [row];
    });
    if (rows.length === 0) rows.push(h('tr', { class: 'empty' }, h('td', { colspan: 4 }, 'This folder is empty. Drop files here, or choose files above.')));
    replaceKeepingFocus(byId('listing-body'), rows);
  }

  private entryRow(entry: EntryView): HTMLTableRowElement {
    let name: HTMLElement;
    if (entry.type === 'dir') {
      name = h('a', { href: hashOf(entry.path), class: 'entry-name', 'data-focus': `open:${entry.path}` },
        h('span', { class: 'icon icon-dir', 'aria-hidden': 'true' }), entry.name, hiddenText(' (folder)'));
    } else if (entry.type === 'file') {
      name = h('button', {
        type: 'button', class: 'entry-name link-button', 'aria-expanded': String(this.open.has(entry.id)),
        'aria-controls': `details-${entry.id}`, 'data-focus': `details:${entry.path}`,
      }, h('span', { class: 'icon icon-file', 'aria-hidden': 'true' }), entry.name, hiddenText(' (file; show parts)'));
      name.addEventListener('click', () => this.toggle(entry));
    } else {
      name = h('span', { class: 'entry-name' }, h('span', { class: 'icon icon-link', 'aria-hidden': 'true' }), entry.name,
        h('span', { class: 'muted' }, ` → ${entry.target ?? ''}`));
    }
    const actions: HTMLElement[] = [];
    if (entry.type === 'file') {
      actions.push(h('a', { class: 'button', href: fsUrl(entry.path, { download: true }).href, download: entry.name, 'data-focus': `download:${entry.path}` },
        'Download', hiddenText(` ${entry.name}`)));
    }
    const remove = h('button', { type: 'button', class: 'button danger', 'data-focus': `delete:${entry.path}` }, 'Delete', hiddenText(` ${entry.name}`));
    remove.addEventListener('click', () => void this.remove(entry));
    actions.push(remove);
    return h('tr', { 'data-path': entry.path, 'data-type': entry.type },
      h('th', { scope: 'row' }, name),
      h('td', { class: 'num' }, entry.type === 'file' ? formatBytes(entry.size) : h('span', { class: 'muted' }, entry.type === 'dir' ? 'folder' : 'link')),
      h('td', {}, timeElement(entry.modified)),
      h('td', { class: 'actions' }, ...actions));
  }

  private detailsRow(entry: EntryView, info: FileInfoView | null): HTMLTableRowElement {
    const body = info === null ? [h('p', { class: 'muted' }, 'Loading parts…')] : [
      h('dl', { class: 'meta' },
        ...meta('Type', info.content_type), ...meta('Size', `${formatBytes(info.size)} (${info.size.toLocaleString()} bytes)`),
        ...meta('Created', timeElement(info.created)), ...meta('Modified', timeElement(info.modified)), ...meta('Id', String(info.id))),
      info.parts.length === 0 ? h('p', { class: 'muted' }, info.size === 0 ? 'No parts: the file is empty.' : 'No parts: the file holds only zeros, which are stored nowhere.') : partsTable(entry.name, info.parts),
    ];
    return h('tr', { class: 'details-row', id: `details-${entry.id}`, 'data-details': entry.path },
      h('td', { colspan: 4 }, h('div', { class: 'details' }, ...body)));
  }

  private async toggle(entry: EntryView): Promise<void> {
    if (this.open.has(entry.id)) this.open.delete(entry.id);
    else this.open.set(entry.id, null);
    this.drawn = ''; // drawn from other answers than the next refresh's
    this.draw();
    if (this.open.has(entry.id)) await this.refresh().catch((err) => this.report(err));
  }

  private async remove(entry: EntryView): Promise<void> {
    const what = entry.type === 'dir' ? `the folder ${entry.path} and everything in it` : entry.path;
    if (!window.confirm(`Delete ${what}? This cannot be undone.`)) return;
    byId('files-error').hidden = true;
    try {
      await removePath(entry.path, entry.type === 'dir');
      announce(`Deleted ${entry.path}.`);
      byId('files-heading').focus();
      await this.refresh();
    } catch (err) {
      this.report(err, `Could not delete ${entry.path}`);
    }
  }

  /** Shows a failure in the files section's alert line. */
  report(err: unknown, context?: string): void {
    const message = err instanceof Error ? err.message : String(err);
    const line = byId('files-error');
    line.textContent = context ? `${context}: ${message}` : message;
    line.hidden = false;
  }
}

function meta(term: string, value: Node | string): HTMLElement[] {
  return [h('dt', {}, term), h('dd', {}, value)];
}

function partsTable(name: string, parts: readonly PartView[]): HTMLTableElement {
  const short = (hex: string) => h('code', { title: hex }, `${hex.slice(0, 12)}…`);
  return h('table', { class: 'parts' },
    h('caption', {}, `${parts.length} part${parts.length === 1 ? '' : 's'} of ${name} and the nodes holding their copies`),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Part'), h('th', { scope: 'col', class: 'num' }, 'Offset'), h('th', { scope: 'col', class: 'num' }, 'Size'),
      h('th', { scope: 'col' }, 'Chunk'), h('th', { scope: 'col' }, 'Checksum'), h('th', { scope: 'col' }, 'Copies on'))),
    h('tbody', {}, ...parts.map((part) => h('tr', { 'data-part': part.index },
      h('th', { scope: 'row' }, String(part.index + 1)),
      h('td', { class: 'num' }, formatBytes(part.offset)),
      h('td', { class: 'num' }, formatBytes(part.size)),
      h('td', {}, short(part.chunk_id)),
      h('td', {}, `${part.checksum.algorithm} `, short(part.checksum.digest)),
      h('td', {}, h('ul', { class: 'replicas' }, ...part.replicas.map((replica) =>
        h('li', { class: 'replica', 'data-node': replica.node, 'data-state': replica.alive ? 'up' : 'down' },
          stateBadge(replica.alive ? 'up' : 'down', `${replica.node} ${replica.alive ? 'up' : 'down'}`)))))))));
}
