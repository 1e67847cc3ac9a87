import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Runs `script` under `node {flags} --import tsx {after}`, as a server started with those flags; its last line. */
function runUnder<T>(script: string, flags: string[], after: string[] = []) {
  return new Promise<T>((resolve, reject) =>
    execFile(
      process.execPath,
      [...flags, '--import', 'tsx', ...after, fileURLToPath(new URL(script, import.meta.url))],
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
      const { began, plain, ts } = await runUnder<{ began: string; plain: string[]; ts: string[] }>(
        './fork-with-flags.ts',
        [flag, '9231'],
      );
      expect(began).toBe(JSON.stringify({ ready: true }));
      expect(plain).not.toContain('9231');
      expect(ts).not.toContain('9231');
    }
  }, 60_000);

  it("started from a bundle, without tsx's loader however the server was given it", async () => {
    // `-r tsx/cjs` (the short name of --require) was kept: each bundled process loaded tsx before its bundle.
    const { began, plain } = await runUnder<{ began: string; plain: string[] }>('./fork-with-flags.ts', [
      '-r',
      'tsx/cjs',
    ]);
    expect(began).toBe(JSON.stringify({ ready: true }));
    expect(plain.filter((a) => a.includes('tsx') || a === '-r')).toEqual([]);
  }, 60_000);

  it("a thread started from a bundle gets the server's flags without tsx", async () => {
    // A thread inherits its parent's flags, `--import tsx` too: every bundled thread (shared functions, move
    // steps) loaded tsx before its bundle, the start-up the bundles exist to save. A thread refuses
    // process-wide flags given explicitly (--max-old-space-size), so those must not stop it either.
    const probe = fileURLToPath(new URL('./thread-probe.mjs', import.meta.url));
    const seen = await runUnder<{ execArgv: string[]; sourceMaps: boolean } | null>(
      './thread-with-flags.ts',
      ['--max-old-space-size=300', '--stack-size=900'],
      ['--import', probe],
    );
    expect(seen).not.toBeNull();
    expect(seen!.execArgv).toContain(probe);
    expect(seen!.execArgv.some((a) => a.includes('tsx'))).toBe(false);
    expect(seen!.sourceMaps).toBe(false);
  }, 60_000);
});
