/**
 * `raidfs repair` and `raidfs scrub`: run a maintenance pass on a running controller
 * now (POST /repair, POST /scrub), wait for it, print what it did. Exit 1 when the
 * pass left parts it could not fix, so scripts notice.
 */
import type { RepairReport, ScrubReport } from '../core/controller';
import { CommandSpec, parseCommand } from './options';
import { describeErrors, describeRepair, describeScrub } from './pass-reports';
import { passTimeoutFrom, passTimeoutSpec, printAnswer, restClientFrom, restClientOptionSpecs } from './rest-client';

function maintenanceCommand(name: 'repair' | 'scrub', summary: string): CommandSpec {
  return {
    name,
    usage: `raidfs ${name} [--rest HOST:PORT] [--json]`,
    summary,
    options: {
      ...restClientOptionSpecs,
      timeout: passTimeoutSpec,
      json: { type: 'boolean', help: `print the report as JSON (as POST /${name} answers it)` },
    },
  };
}

export const repairCommand = maintenanceCommand('repair',
  'Make new copies now of every part whose copies are on nodes that are down (no grace period).');
export const scrubCommand = maintenanceCommand('scrub',
  'Verify every copy on the nodes that are up now, rewrite bad ones, and doom orphan chunks.');

async function runPass<R extends { errors: string[] }>(
  spec: CommandSpec, argv: string[], describe: (report: R) => string,
): Promise<number> {
  const { values } = parseCommand(spec, argv);
  const report = await restClientFrom(values).request<R>('POST', `/${spec.name}`, passTimeoutFrom(values));
  printAnswer(values, report, () => `${spec.name}: ${describe(report)}${describeErrors(report)}\n`);
  return report.errors.length ? 1 : 0;
}

export const runRepair = (argv: string[]) => runPass<RepairReport>(repairCommand, argv, describeRepair);
export const runScrub = (argv: string[]) => runPass<ScrubReport>(scrubCommand, argv, describeScrub);
