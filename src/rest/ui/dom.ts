/**
 * The few DOM helpers the dashboard's views share: building elements, showing times,
 * and keeping keyboard focus across a re-render.
 *
 * Invariant: text always goes in as text nodes, never as HTML, so names of files
 * and nodes cannot inject markup.
 */

type Attributes = Record<string, string | number | boolean | undefined>;
type Child = Node | string | null | undefined | false;

/** A new `tag` element: attributes (true: present, false/undefined: absent) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.filter((child): child is Node | string => child !== null && child !== undefined && child !== false));
  return element;
}

/** The element with `id`; the page is broken without it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

/** Text only a screen reader reads (e.g. which file a "Delete" button is for). */
export function hiddenText(text: string): HTMLSpanElement {
  return h('span', { class: 'visually-hidden' }, text);
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A <time> showing an ISO 8601 instant in the reader's local time. */
export function timeElement(iso: string): HTMLTimeElement {
  return h('time', { datetime: iso, title: iso }, DATE_TIME.format(new Date(iso)));
}

/**
 * Replaces the children of `container` with `children`; the element that had focus
 * inside it (found again by its `data-focus` key) gets it back.
 */
export function replaceKeepingFocus(container: HTMLElement, children: Node[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.focus : undefined;
  container.replaceChildren(...children);
  if (key !== undefined) container.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}
