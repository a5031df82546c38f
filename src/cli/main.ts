/**
 * The `raidfs` command: dispatches to one subcommand. Usage mistakes print one line
 * and exit 2; failures print one line (no stack trace unless RAIDFS_DEBUG is set) and
 * exit 1, a working directory that no longer exists included (working-directory.ts).
 */
import '../common/gc-tuning';
import './working-directory';
import { controllerCommand, runController } from './controller-command';
import { drainCommand, runDrain } from './drain-command';
import { forgetNodeCommand, runForgetNode } from './forget-node-command';
import { keygenCommand, runKeygen } from './keygen-command';
import { repairCommand, runRepair, runScrub, scrubCommand } from './maintenance-commands';
import { nodeCommand, runNode } from './node-command';
import { runStatus, statusCommand } from './status-command';
import { CommandSpec, helpText, UsageError } from './options';
import { runUp, upCommand } from './up-command';

/** A command resolves when done, with its exit code (default 0), or throws. */
const COMMANDS: Array<{ spec: CommandSpec; run: (argv: string[]) => Promise<number | void> }> = [
  { spec: upCommand, run: runUp },
  { spec: controllerCommand, run: runController },
  { spec: nodeCommand, run: runNode },
  { spec: statusCommand, run: runStatus },
  { spec: repairCommand, run: runRepair },
  { spec: scrubCommand, run: runScrub },
  { spec: drainCommand, run: runDrain },
  { spec: forgetNodeCommand, run: runForgetNode },
  { spec: keygenCommand, run: runKeygen },
];

function overview(): string {
  return [
    'raidfs: a replicated (RAID-1) file store you mount as a directory.',
    '',
    'Usage: raidfs COMMAND [options]',
    '',
    'Commands:',
    ...COMMANDS.map(({ spec }) => `  ${spec.name.padEnd(12)} ${spec.summary}`),
    '',
    'Run `raidfs COMMAND --help` for the options of a command.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (!command) throw new UsageError(`${name}: unknown command\nRun \`raidfs --help\` for the list of commands.`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(helpText(command.spec));
    return 0;
  }
  try {
    return (await command.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) err.message = `${name}: ${err.message}\nRun \`raidfs ${name} --help\` for usage.`;
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`raidfs ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`raidfs: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.RAIDFS_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
