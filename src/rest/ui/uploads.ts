/**
 * Uploads into the directory shown: files dropped on the drop zone or chosen with
 * the file input are queued and sent one at a time (PUT /fs/PATH, streamed), each
 * with a progress bar, then the listing is refreshed.
 *
 * Invariants:
 * - An existing file is replaced only after the user confirms it; a name taken by
 *   a folder fails that upload, never the others.
 * - Every upload ends visibly: "stored" (the item then goes away after a while) or
 *   "failed" with the server's reason (the item stays until dismissed); both are
 *   announced.
 * - A file dropped anywhere else on the page is ignored, not opened in place of it.
 */
import { formatBytes } from '../../common/format.js';
import { announce } from './announce.js';
import { uploadFile } from './api.js';
import { h } from './dom.js';
import type { FileBrowser } from './files.js';

/** How long a finished upload stays in the list. */
const DONE_LINGER_MS = 8_000;

export class Uploader {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly files: FileBrowser, private readonly list: HTMLElement) {}

  attach(dropZone: HTMLElement, input: HTMLInputElement): void {
    input.addEventListener('change', () => {
      this.add([...(input.files ?? [])]);
      input.value = '';
    });
    const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') ?? false;
    for (const type of ['dragenter', 'dragover'] as const) {
      dropZone.addEventListener(type, (event) => {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
        dropZone.classList.add('dragging');
      });
    }
    dropZone.addEventListener('dragleave', (event) => {
      if (!(event.relatedTarget instanceof Node && dropZone.contains(event.relatedTarget))) dropZone.classList.remove('dragging');
    });
    dropZone.addEventListener('drop', (event) => {
      event.preventDefault();
      dropZone.classList.remove('dragging');
      this.add([...(event.dataTransfer?.files ?? [])]);
    });
    for (const type of ['dragover', 'drop'] as const) window.addEventListener(type, (event) => event.preventDefault());
  }

  /** Queues `files` for the directory shown now. */
  add(files: readonly File[]): void {
    const dir = this.files.directory;
    for (const file of files) {
      const path = `${dir === '/' ? '' : dir}/${file.name}`;
      const item = new UploadItem(path, file.size);
      this.list.append(item.element);
      this.queue = this.queue.then(() => this.send(dir, path, file, item));
    }
  }

  private async send(dir: string, path: string, file: File, item: UploadItem): Promise<void> {
    const existing = this.files.directory === dir ? this.files.entryNamed(file.name) : undefined;
    if (existing?.type === 'dir') {
      item.failed(`a folder called ${file.name} is already there`);
      return;
    }
    if (existing && !window.confirm(`Replace ${path}? Its current content will be lost.`)) {
      item.element.remove();
      return;
    }
    try {
      await uploadFile(path, file, (sent, total) => item.progress(sent, total));
      item.done();
      await this.files.refresh().catch((err) => this.files.report(err));
    } catch (err) {
      item.failed(err instanceof Error ? err.message : String(err));
    }
  }
}

/** One upload's line in the list: name, progress bar, what is happening. */
class UploadItem {
  readonly element: HTMLLIElement;
  private readonly bar: HTMLProgressElement;
  private readonly status: HTMLSpanElement;

  constructor(private readonly path: string, private readonly size: number) {
    this.bar = h('progress', { max: Math.max(1, size), value: 0, 'aria-label': `Upload of ${path}` });
    this.status = h('span', { class: 'upload-status' }, 'waiting');
    this.element = h('li', { class: 'upload', 'data-upload': path, 'data-state': 'queued' },
      h('span', { class: 'upload-name' }, path), this.bar, this.status);
  }

  progress(sent: number, total: number): void {
    this.element.dataset.state = 'uploading';
    this.bar.max = Math.max(1, total);
    this.bar.value = sent;
    this.status.textContent = sent >= total
      ? 'storing the last part…'
      : `${Math.floor((sent / Math.max(1, total)) * 100)}% · ${formatBytes(sent)} of ${formatBytes(total)}`;
  }

  done(): void {
    this.element.dataset.state = 'done';
    this.bar.value = this.bar.max;
    this.status.textContent = `stored (${formatBytes(this.size)})`;
    announce(`Uploaded ${this.path}.`);
    setTimeout(() => this.element.remove(), DONE_LINGER_MS);
  }

  failed(reason: string): void {
    this.element.dataset.state = 'failed';
    this.status.textContent = `failed: ${reason}`;
    const dismiss = h('button', { type: 'button', class: 'button small' }, 'Dismiss');
    dismiss.addEventListener('click', () => this.element.remove());
    this.element.append(dismiss);
    announce(`Upload of ${this.path} failed: ${reason}`);
  }
}
