/**
 * The cluster-health half of the dashboard, drawn from one GET /status answer: the
 * summary cards (nodes up, down and refused, space, parts, missing copies, damaged
 * parts and the first files they belong to, repair and scrub) and the table of
 * storage nodes with a usage bar each, then the nodes refused at registration
 * (another cluster's) with the reason.
 *
 * Invariants:
 * - A node's state is always written out ("up", "down 12s", "refused") next to its
 *   colour and icon, and the row carries it as data-state, so nothing depends on
 *   seeing colour; a node that is down or refused says why beside it.
 * - One row per node: a known node whose last registration was refused is shown as
 *   refused (it is not let in, whatever it last reported).
 * - Bars are decoration (aria-hidden); the same numbers are in the text beside them.
 * - A node that goes down or comes back is announced once (announce.ts).
 */
import { formatBytes, formatDuration } from '../../common/format.js';
import { announce } from './announce.js';
import type { NodeView, RefusedNodeView, RepairView, ScrubView, StatusView } from './api-types.js';
import { byId, h } from './dom.js';

type Level = 'ok' | 'warn' | 'bad' | 'neutral';
type Content = Node | string;
/** What a state badge says: a node or copy up or down, or a node refused. */
export type BadgeState = 'up' | 'down' | 'refused';

const BADGE_ICONS: Readonly<Record<BadgeState, string>> = { up: '●', down: '✕', refused: '⊘' };

export class HealthView {
  /** Each node's state at the last render: alive or not. */
  private readonly alive = new Map<string, boolean>();

  render(status: StatusView, now: number): void {
    this.announceChanges(status.nodes);
    byId('summary').textContent = `${status.nodesUp} of ${status.nodes.length} nodes up · ${formatBytes(status.usedBytes)} stored · `
      + `${formatBytes(status.freeBytes)} free`;
    byId('stats').replaceChildren(...statCards(status, now));
    const refused = new Set(status.refusedNodes.map((node) => node.id));
    byId('nodes-body').replaceChildren(...status.nodes.filter((node) => !refused.has(node.id)).map((node) => nodeRow(node, now)),
      ...status.refusedNodes.map((node) => refusedRow(node, now)));
  }

  private announceChanges(nodes: readonly NodeView[]): void {
    for (const node of nodes) {
      const before = this.alive.get(node.id);
      if (before !== undefined && before !== node.alive) announce(`${node.id} is ${node.alive ? 'up again' : 'down'}.`);
      this.alive.set(node.id, node.alive);
    }
  }
}

function card(label: string, level: Level, value: Content[], ...details: Content[]): HTMLElement {
  return h('div', { class: 'stat', 'data-level': level },
    h('dt', {}, label),
    h('dd', { class: 'stat-value' }, ...value),
    ...details.map((detail) => h('dd', { class: 'stat-detail' }, detail)));
}

function statCards(s: StatusView, now: number): HTMLElement[] {
  const { parts } = s;
  return [
    card('Nodes', s.nodesDown > 0 || s.nodesUp < s.replicas || s.refusedNodes.length > 0 ? 'bad' : 'ok',
      [`${s.nodesUp} up`, ...(s.nodesDown > 0 ? [h('span', { class: 'stat-down' }, ` · ${s.nodesDown} down`)] : []),
        ...(s.refusedNodes.length > 0 ? [h('span', { class: 'stat-down' }, ` · ${s.refusedNodes.length} refused`)] : [])],
      `${s.replicas} copies of every part`),
    card('Stored', 'neutral', [formatBytes(s.usedBytes)],
      bar(s.usedBytes, s.capacityBytes - s.freeBytes - s.usedBytes, s.capacityBytes),
      `${formatBytes(s.freeBytes)} free of ${formatBytes(s.capacityBytes)}`),
    card('Parts', 'neutral', [String(parts.total)], `${s.replicas} copies each`),
    card('Under-replicated', parts.unavailable > 0 ? 'bad' : parts.underReplicated > 0 ? 'warn' : 'ok', [String(parts.underReplicated)],
      parts.unavailable > 0 ? `${parts.unavailable} unavailable (no intact copy up)`
        : parts.underReplicated > 0 ? 'parts missing an intact copy' : 'every part has all copies'),
    card('Damaged', parts.damaged > 0 ? 'bad' : 'ok', [String(parts.damaged)],
      parts.damaged > 0 ? 'parts with no intact copy, in:' : 'every part has an intact copy',
      ...s.damagedFiles.map((file) => file.path)),
    repairCard(s.repair.current, s.repair.last, now),
    scrubCard(s.scrub.current, s.scrub.last, now),
  ];
}

function ago(report: { finishedMs: number | null; startedMs: number }, now: number): string {
  return `${formatDuration(Math.max(0, now - (report.finishedMs ?? report.startedMs)))} ago`;
}

function repairCard(current: RepairView | null, last: RepairView | null, now: number): HTMLElement {
  if (current) {
    const done = current.copiesMade + current.rewritten + current.failed;
    return card('Repair', 'warn', ['running'],
      h('progress', { max: Math.max(1, current.underReplicated), value: done, 'aria-label': 'Repair progress' }),
      `${current.copiesMade} of ${current.underReplicated} copies made (${formatBytes(current.bytesCopied)})`
        + (current.failed ? `, ${current.failed} failed` : ''));
  }
  return card('Repair', 'neutral', ['idle'], last
    ? `last pass ${ago(last, now)}: ${last.copiesMade} copies made (${formatBytes(last.bytesCopied)})${last.failed ? `, ${last.failed} failed` : ''}`
    : 'no pass yet');
}

function scrubCard(current: ScrubView | null, last: ScrubView | null, now: number): HTMLElement {
  if (current) {
    return card('Scrub', 'neutral', ['running'], `${current.chunksVerified} copies verified (${formatBytes(current.bytesVerified)})`);
  }
  const bad = last ? last.missing + last.corrupt : 0;
  return card('Scrub', bad > 0 ? 'warn' : 'neutral', ['idle'], last
    ? `last pass ${ago(last, now)}: ${last.chunksVerified} copies verified, ${bad} bad, ${last.rewritten} rewritten`
    : 'no pass yet');
}

/** A horizontal bar: raidfs' data, then everything else on the disk, out of `total` (aria-hidden). */
function bar(raidfsBytes: number, otherBytes: number, total: number): HTMLElement {
  const segment = (className: string, bytes: number) => {
    const element = h('span', { class: className });
    element.style.width = `${total > 0 ? Math.min(100, Math.max(0, (bytes / total) * 100)) : 0}%`;
    return element;
  };
  return h('span', { class: 'bar', 'aria-hidden': 'true' }, segment('bar-raidfs', raidfsBytes), segment('bar-other', otherBytes));
}

function nodeRow(node: NodeView, now: number): HTMLTableRowElement {
  const state = node.alive ? 'up' : 'down';
  const since = !node.alive && node.downSinceMs !== null ? ` ${formatDuration(Math.max(0, now - node.downSinceMs))}` : '';
  const used = node.capacityBytes > 0 ? Math.round(((node.capacityBytes - node.freeBytes) / node.capacityBytes) * 100) : 0;
  return h('tr', { 'data-node': node.id, 'data-state': state },
    h('th', { scope: 'row' }, node.id),
    h('td', {}, stateBadge(state, `${state}${since}${node.draining ? ', draining' : ''}`), stateReason(node.downReason)),
    h('td', {}, node.address || '—'),
    h('td', { class: 'num' }, String(node.chunkCount)),
    h('td', { class: 'usage' }, h('div', { class: 'usage-line' },
      bar(node.usedBytes, node.capacityBytes - node.freeBytes - node.usedBytes, node.capacityBytes),
      h('span', { class: 'usage-percent' }, `${used}%`),
      h('span', { class: 'usage-text' }, `${formatBytes(node.usedBytes)} raidfs · ${formatBytes(node.freeBytes)} free of ${formatBytes(node.capacityBytes)}`
        + (node.alive ? '' : ' (last known)')))),
    h('td', {}, node.lastSeenMs ? `${formatDuration(Math.max(0, now - node.lastSeenMs))} ago` : 'not since the controller started'));
}

/** A node refused at registration: what it said of itself, and why it is not let in. */
function refusedRow(node: RefusedNodeView, now: number): HTMLTableRowElement {
  return h('tr', { 'data-node': node.id, 'data-state': 'refused' },
    h('th', { scope: 'row' }, node.id),
    h('td', {}, stateBadge('refused', 'refused'), stateReason(node.reason)),
    h('td', {}, node.address || '—'),
    h('td', { class: 'num' }, '—'),
    h('td', { class: 'usage' }, '—'),
    h('td', {}, `last tried ${formatDuration(Math.max(0, now - node.lastRefusedMs))} ago`));
}

/** Why a node is down or refused, beneath its badge (nothing when it is up). */
function stateReason(reason: string | null): HTMLElement | null {
  return reason ? h('span', { class: 'state-reason' }, reason) : null;
}

/** "● up" / "✕ down" / "⊘ refused": the word says it, colour and icon only repeat it. */
export function stateBadge(state: BadgeState, text: string): HTMLElement {
  return h('span', { class: 'badge', 'data-state': state }, h('span', { class: 'badge-icon', 'aria-hidden': 'true' }, BADGE_ICONS[state]), text);
}
