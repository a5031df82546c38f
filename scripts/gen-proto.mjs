// Generates the wire-message code from proto/raidfs.proto, the single source of truth
// for the wire format: JavaScript (protobufjs static module) into dist/, where the
// compiled code requires it, and its TypeScript declarations into src/wire/generated/,
// where tsc reads them. Both outputs are build artefacts and are not committed.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cliDir = path.dirname(require.resolve('protobufjs-cli/package.json'));
const proto = path.join(root, 'proto', 'raidfs.proto');
const jsOut = path.join(root, 'dist', 'src', 'wire', 'generated', 'raidfs.js');
const dtsOut = path.join(root, 'src', 'wire', 'generated', 'raidfs.d.ts');

mkdirSync(path.dirname(jsOut), { recursive: true });
mkdirSync(path.dirname(dtsOut), { recursive: true });
const run = (script, args) =>
  execFileSync(process.execPath, [path.join(cliDir, 'bin', script), ...args], { stdio: 'inherit' });
run('pbjs', ['-t', 'static-module', '-w', 'commonjs', '--force-number', '--no-delimited',
  '--no-beautify', '-o', jsOut, proto]);
run('pbts', ['-o', dtsOut, jsOut]);
