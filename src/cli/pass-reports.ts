/**
 * One-line descriptions of repair and scrub reports, shared by `raidfs status` and
 * the `raidfs repair` / `raidfs scrub` commands.
 */
import { formatBytes, formatDuration } from '../common/format';
import type { RepairReport, ScrubReport } from '../core/controller';

function took(report: { startedMs: number; finishedMs: number | null }): string {
  return report.finishedMs === null ? '' : ` in ${formatDuration(report.finishedMs - report.startedMs)}`;
}

/** The errors a report lists, one per line after its summary ('' when none). */
export function describeErrors(report: { errors: string[] }): string {
  return report.errors.length ? `\n  errors: ${report.errors.join('\n          ')}` : '';
}

export function describeRepair(r: RepairReport): string {
  const leaving = [
    ...(r.lostNodes.length ? [`copies on ${r.lostNodes.join(', ')} counted lost`] : []),
    ...(r.drainingNodes.length ? [`copies moved off ${r.drainingNodes.join(', ')}, being drained`] : []),
  ];
  const lost = leaving.length ? ` (${leaving.join('; ')})` : '';
  const rewritten = r.rewritten ? `, ${r.rewritten} bad copies rewritten in place` : '';
  return `${r.underReplicated} parts under-replicated${lost}, ${r.copiesMade} copies made${rewritten} (${formatBytes(r.bytesCopied)}), `
    + `${r.failed} failed${took(r)}`;
}

export function describeScrub(r: ScrubReport): string {
  return `${r.nodesScrubbed} nodes, ${r.chunksVerified} copies verified (${formatBytes(r.bytesVerified)}), `
    + `${r.missing} missing, ${r.corrupt} corrupt, ${r.rewritten} rewritten, ${r.dropped} re-replicated, `
    + `${r.orphans} orphans doomed${took(r)}`;
}
