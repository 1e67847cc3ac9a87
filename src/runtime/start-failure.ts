import type { ChildProcess } from 'node:child_process';

/** How much of a starting child's stderr is kept: the end of one uncaught error's report. */
const KEPT_BYTES = 8192;

/**
 * Passes a child's piped stderr on to this process's, and keeps its end until the child is ready, so that a
 * child that ends before (its store missing, its bundle gone, a bad flag) is reported with why it ended, not
 * only its exit code: that was in the server's raw stderr alone, among other processes' lines.
 */
export function watchStartErrors(
  proc: ChildProcess,
  /** What the child wrote before this watch began (a spare's, kept by its pool until it was taken). */
  written = '',
): {
  /** The child is ready: nothing more is kept. */
  ready(): void;
  /** Once the child's stderr has ended (at most `waitMs` after its exit): the line that says why it ended. */
  reason(waitMs?: number): Promise<string | undefined>;
} {
  let tail: string | undefined = written.slice(-KEPT_BYTES);
  const ended = new Promise<void>((resolve) => {
    if (!proc.stderr) return resolve();
    proc.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      if (tail !== undefined) tail = (tail + chunk.toString('utf8')).slice(-KEPT_BYTES);
    });
    proc.stderr.once('close', resolve);
    proc.stderr.once('error', () => resolve());
  });
  return {
    ready: () => {
      tail = undefined;
    },
    async reason(waitMs = 1000) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
      clearTimeout(timer);
      return tail === undefined ? undefined : uncaughtError(tail);
    },
  };
}

/**
 * The `Name: message` line Node prints for an uncaught error (`StoreNotFoundError: …`, `Error [CODE]: …`),
 * the last one in `stderr`; else its last line that is not a stack frame or Node's version.
 */
export function uncaughtError(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
  const named = lines.filter((line) => /^[A-Za-z_$][\w$]*(?: \[[\w$]+\])?: \S/.test(line));
  if (named.length > 0) return named[named.length - 1];
  return lines.filter((line) => !/^\s+at |^Node\.js v/.test(line)).pop();
}
