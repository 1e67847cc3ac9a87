import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Runs fork-with-flags.ts under `node {flags} --import tsx`, as a server started with those flags. */
function forkUnder(flags: string[]) {
  const script = fileURLToPath(new URL('./fork-with-flags.ts', import.meta.url));
  return new Promise<{ began: string; plain: string[]; ts: string[] }>((resolve, reject) =>
    execFile(
      process.execPath,
      [...flags, '--import', 'tsx', script],
      { timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (error, out, err) =>
        error
          ? reject(new Error(`${error.message}\n${err}`))
          : resolve(JSON.parse(out.trim().split('\n').pop()!)),
    ),
  );
}

describe("a function's process gets the server's flags", () => {
  it('without an inspector port given as its own argument (the port was left behind and run as the script)', async () => {
    // `node --inspect-port 9231 …` (a debugger's launch configuration): the child got `9231` without its
    // flag, Node took it for the script to run, and every dedicated function exited 1 before it was ready.
    for (const flag of ['--inspect-port', '--debug-port']) {
      const { began, plain, ts } = await forkUnder([flag, '9231']);
      expect(began).toBe(JSON.stringify({ ready: true }));
      expect(plain).not.toContain('9231');
      expect(ts).not.toContain('9231');
    }
  }, 60_000);
});
