/**
 * Imported by the CLI entry point before any library: a process started in a
 * directory that was since removed cannot learn its working directory (uv_cwd fails
 * with ENOENT), and libraries that ask for it as they load (express's depd) would
 * end it with a stack trace. Instead: one line saying what to do, exit 1.
 */
try {
  process.cwd();
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  process.stderr.write(code === 'ENOENT'
    ? 'raidfs: the current directory no longer exists; cd somewhere else\n'
    : `raidfs: cannot tell the current directory (${code ?? String(err)}); cd somewhere else\n`);
  process.exit(1);
}

export {};
